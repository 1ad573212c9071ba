/**
 * The configuration snapshot both planes share: an immutable, versioned description of providers,
 * catalog, routes, projects, keys and signing keys. The control plane builds one per data plane; a
 * standalone data plane reads one from a file. Nothing here mutates: a change is a new snapshot.
 */
@NullMarked
package io.agentrouter.common.config;

import org.jspecify.annotations.NullMarked;
