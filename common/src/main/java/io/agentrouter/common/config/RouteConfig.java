package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.errors.ErrorClass;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * An alias: a model name clients use that stands for weighted targets with fallback.
 *
 * <p>The first attempt goes to a target picked by weight among those with a weight above zero; on
 * an error whose class is in {@code fallbackOn}, the remaining targets are tried in the listed
 * order. So a request makes at most {@code targets.size()} attempts (one plus the fallbacks).
 *
 * @param alias the name clients send as {@code model}
 * @param projectId the project the alias belongs to, or null for one visible to every project
 * @param targets at least one target
 * @param fallbackOn the error classes that move on to the next target
 */
public record RouteConfig(
    String alias,
    @Nullable String projectId,
    List<RouteTarget> targets,
    Set<ErrorClass> fallbackOn) {

  /** Fall back on everything that says nothing about the request itself. */
  public static final Set<ErrorClass> DEFAULT_FALLBACK_ON =
      Set.copyOf(
          EnumSet.of(
              ErrorClass.RATE_LIMITED,
              ErrorClass.OVERLOADED,
              ErrorClass.TIMEOUT,
              ErrorClass.CONNECT,
              ErrorClass.SERVER));

  public RouteConfig {
    requireNonNull(alias, "alias");
    targets = List.copyOf(targets);
    fallbackOn = Set.copyOf(fallbackOn);
    if (targets.isEmpty()) {
      throw new IllegalArgumentException(
          "route '" + alias + "' has no targets (expected: at least one)");
    }
    if (targets.stream().noneMatch(t -> t.weight() > 0)) {
      throw new IllegalArgumentException(
          "route '" + alias + "' has no target with weight > 0 (expected: at least one)");
    }
  }

  /**
   * One target of a route.
   *
   * @param provider provider name
   * @param model the catalog model name at that provider
   * @param weight share of first attempts; 0 makes it a fallback only
   */
  public record RouteTarget(String provider, String model, int weight) {
    public RouteTarget {
      requireNonNull(provider, "provider");
      requireNonNull(model, "model");
      if (weight < 0) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: >= 0)");
      }
    }
  }
}
