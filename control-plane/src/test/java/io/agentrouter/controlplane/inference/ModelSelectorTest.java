package io.agentrouter.controlplane.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentrouter.controlplane.rpc.ApiException;
import io.grpc.Status;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ModelSelectorTest {
  private final ModelSelector selector =
      new ModelSelector(
          List.of("openai/gpt-4o", "azure/gpt-4o", "anthropic/claude-sonnet-4-6"),
          Set.of("smart-default"));

  @Test
  void resolvesAliasesQualifiedUniqueBareNamesAndTheDefault() {
    assertThat(selector.resolve("smart-default", "")).isEqualTo("smart-default");
    assertThat(selector.resolve("azure/gpt-4o", "")).isEqualTo("azure/gpt-4o");
    assertThat(selector.resolve("claude-sonnet-4-6", "")).isEqualTo("anthropic/claude-sonnet-4-6");
    assertThat(selector.resolve("", "claude-sonnet-4-6")).isEqualTo("anthropic/claude-sonnet-4-6");
    assertThat(selector.resolve("", "smart-default")).isEqualTo("smart-default");
  }

  @Test
  void anAmbiguousBareNameIs400NamingTheCandidates() {
    assertThatThrownBy(() -> selector.resolve("gpt-4o", ""))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              assertThat(e.getMessage())
                  .isEqualTo(
                      "model: 'gpt-4o' is offered by several providers (expected one of:"
                          + " openai/gpt-4o, azure/gpt-4o)");
            });
  }

  @Test
  void unknownModelsAre404NamingTheKnownOnes() {
    assertThatThrownBy(() -> selector.resolve("gpt-5", ""))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getMessage())
                  .isEqualTo(
                      "model 'gpt-5' is not in the catalog (known: smart-default, openai/gpt-4o,"
                          + " azure/gpt-4o, anthropic/claude-sonnet-4-6)");
            });
    assertThatThrownBy(() -> selector.resolve("", " "))
        .isInstanceOfSatisfying(
            ApiException.class,
            e -> assertThat(e.code()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void promptHashesTellPartsApart() {
    assertThat(Prompts.hash("ab", "c")).isNotEqualTo(Prompts.hash("a", "bc"));
    assertThat(Prompts.hash("a", "b")).isEqualTo(Prompts.hash("a", "b"));
  }
}
