package io.agentrouter.controlplane.inference;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/** A fixed catalog and no aliases: what Prompt resolves against until catalog and routes land. */
public final class DefaultModelDirectory implements ModelDirectory {
  static final List<String> MODELS =
      List.of(
          "openai/gpt-4o",
          "openai/gpt-4o-mini",
          "openai/gpt-4.1",
          "openai/gpt-4.1-mini",
          "openai/text-embedding-3-small",
          "anthropic/claude-sonnet-4-6",
          "anthropic/claude-haiku-4-5",
          "gemini/gemini-2.5-pro",
          "gemini/gemini-2.5-flash");

  private final List<String> models;

  public DefaultModelDirectory() {
    this(MODELS);
  }

  public DefaultModelDirectory(List<String> models) {
    this.models = List.copyOf(requireNonNull(models, "models"));
  }

  @Override
  public List<String> models() {
    return models;
  }

  @Override
  public Set<String> aliases(UUID projectId) {
    return Set.of();
  }
}
