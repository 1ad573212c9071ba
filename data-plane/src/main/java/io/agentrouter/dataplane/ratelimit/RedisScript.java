package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A Lua script run by its SHA-1 ({@code EVALSHA}); when Redis does not know it (a restart, a
 * failover, {@code SCRIPT FLUSH}) the same call is retried once with {@code EVAL}, which also
 * caches it again.
 */
final class RedisScript {
  private final String source;
  private final String sha1;

  RedisScript(String source) {
    this.source = requireNonNull(source, "source");
    try {
      this.sha1 =
          HexFormat.of()
              .formatHex(
                  MessageDigest.getInstance("SHA-1")
                      .digest(source.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is missing from this JVM", e);
    }
  }

  /** Loads {@code name} next to this class. */
  static RedisScript resource(String name) {
    try (InputStream in = RedisScript.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing script resource '" + name + "'");
      }
      return new RedisScript(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String sha1() {
    return sha1;
  }

  <T> CompletableFuture<T> run(
      RedisAsyncCommands<String, String> redis,
      ScriptOutputType type,
      String[] keys,
      String... args) {
    CompletableFuture<T> first = redis.<T>evalsha(sha1, type, keys, args).toCompletableFuture();
    return first
        .handle(
            (r, e) -> {
              if (e == null) {
                return CompletableFuture.completedFuture(r);
              }
              Throwable cause =
                  e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
              if (cause instanceof RedisNoScriptException) {
                return redis.<T>eval(source, type, keys, args).toCompletableFuture();
              }
              return CompletableFuture.<T>failedFuture(cause);
            })
        .thenCompose(f -> f);
  }
}
