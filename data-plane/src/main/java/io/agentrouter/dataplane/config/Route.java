package io.agentrouter.dataplane.config;

import io.agentrouter.common.config.ModelKind;
import io.agentrouter.common.errors.ErrorClass;
import java.util.List;
import java.util.Set;

/**
 * What a model selector resolves to: targets in fallback order with the weights of first attempts.
 * A plain catalog model is a route with one target.
 *
 * @param name the alias, or the catalog id ({@code provider/model})
 * @param alias whether {@code name} is an alias
 * @param kind the kind every target serves
 * @param targets in declared order
 * @param weights first-attempt weight of each target, same order
 * @param totalWeight sum of weights, > 0
 * @param fallbackOn classes that move on to the next target
 */
public record Route(
    String name,
    boolean alias,
    ModelKind kind,
    List<Target> targets,
    int[] weights,
    int totalWeight,
    Set<ErrorClass> fallbackOn) {}
