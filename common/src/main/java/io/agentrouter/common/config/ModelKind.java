package io.agentrouter.common.config;

/** What a catalog model serves, and so which endpoint may reach it. */
public enum ModelKind {
  CHAT,
  EMBEDDINGS,
  IMAGES;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  public static ModelKind fromWireName(String name) {
    for (ModelKind k : values()) {
      if (k.wireName().equals(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException(
        "model kind '" + name + "' is unknown (expected one of: chat, embeddings, images)");
  }
}
