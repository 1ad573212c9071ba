package io.agentrouter.common.config;

/** Whether a key may be used. */
public enum KeyStatus {
  ACTIVE,
  REVOKED
}
