package io.agentrouter.dataplane.provider;

/** The wire formats the data plane speaks upstream. */
public enum ProviderType {
  /** OpenAI and every OpenAI-compatible API (Groq, Mistral, Together, DeepSeek, Ollama, vLLM). */
  OPENAI,
  /** Azure OpenAI: deployments in the path, {@code api-version} query, {@code api-key} header. */
  AZURE_OPENAI,
  /** Anthropic Messages API. */
  ANTHROPIC,
  /** Google Gemini {@code generateContent} / {@code streamGenerateContent}. */
  GEMINI
}
