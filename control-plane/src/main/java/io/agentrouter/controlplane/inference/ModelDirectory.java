package io.agentrouter.controlplane.inference;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * What Prompt resolves model selectors against: the catalog's provider-qualified model ids and the
 * route aliases of a project. The catalog and routes feature provides the real one; {@link
 * DefaultModelDirectory} is a fixed list until then.
 */
public interface ModelDirectory {
  /** Every catalog model as "provider/model". */
  List<String> models();

  /** The route aliases defined in a project. */
  Set<String> aliases(UUID projectId);
}
