package io.agentrouter.cli;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The profile file, {@code <config dir>/config.json}. It holds credentials, so it is written with
 * mode 0600 (its directory 0700), through a temp file created with those permissions and moved into
 * place: there is no moment when another user could read it.
 */
final class ConfigStore {
  /** One named profile. Absent fields are null. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Profile(
      @JsonProperty("base_url") @Nullable String baseUrl,
      @JsonProperty("api_key") @Nullable String apiKey,
      @JsonProperty("access_token") @Nullable String accessToken,
      @JsonProperty("oidc_issuer") @Nullable String oidcIssuer,
      @JsonProperty("customer_id") @Nullable String customerId,
      @JsonProperty("project_id") @Nullable String projectId) {
    static final Profile EMPTY = new Profile(null, null, null, null, null, null);
  }

  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Config(@JsonProperty("profiles") @Nullable Map<String, Profile> profiles) {}

  private final Path file;
  private final ObjectMapper json =
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  ConfigStore(Path dir) {
    this.file = dir.resolve("config.json");
  }

  Path file() {
    return file;
  }

  Profile profile(String name) {
    Profile p = read().get(name);
    return p == null ? Profile.EMPTY : p;
  }

  void save(String name, Profile profile) {
    Map<String, Profile> all = read();
    all.put(name, profile);
    write(all);
  }

  private Map<String, Profile> read() {
    if (!Files.exists(file)) {
      return new LinkedHashMap<>();
    }
    try {
      Config c = json.readValue(file.toFile(), Config.class);
      return c.profiles() == null ? new LinkedHashMap<>() : new LinkedHashMap<>(c.profiles());
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.USAGE,
          "cannot read the profile file "
              + file
              + " (expected JSON written by 'agentrouter login'): "
              + e.getMessage(),
          e);
    }
  }

  private void write(Map<String, Profile> profiles) {
    boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    try {
      Path dir = file.getParent();
      if (!Files.isDirectory(dir)) {
        if (posix) {
          Files.createDirectories(
              dir,
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } else {
          Files.createDirectories(dir);
        }
      }
      Path tmp =
          posix
              ? Files.createTempFile(
                  dir,
                  ".config",
                  ".tmp",
                  PosixFilePermissions.asFileAttribute(
                      PosixFilePermissions.fromString("rw-------")))
              : Files.createTempFile(dir, ".config", ".tmp");
      try {
        json.writeValue(tmp.toFile(), new Config(profiles));
        try {
          Files.move(
              tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.SERVER_ERROR,
          "cannot write the profile file " + file + ": " + e.getMessage(),
          e);
    }
  }
}
