package io.agentrouter.deploy.images;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;

/**
 * The container health check of both images. They have no shell and no curl, so Docker and Compose
 * health checks run this class with the image's own JRE: exit 0 when the URL answers 2xx within two
 * seconds, 1 otherwise. Kubernetes probes do not need it (they use httpGet).
 */
public final class HealthCheck {

  private HealthCheck() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: HealthCheck <url> (e.g. http://127.0.0.1:8080/internal/health)");
      System.exit(2);
    }
    System.exit(check(args[0]) ? 0 : 1);
  }

  static boolean check(String url) {
    try {
      HttpURLConnection connection = (HttpURLConnection) URI.create(url).toURL().openConnection();
      connection.setConnectTimeout(2_000);
      connection.setReadTimeout(2_000);
      int status = connection.getResponseCode();
      try (InputStream body =
          status < 400 ? connection.getInputStream() : connection.getErrorStream()) {
        if (body != null) {
          body.transferTo(OutputStream.nullOutputStream());
        }
      }
      if (status / 100 != 2) {
        System.err.println(url + " answered " + status + " (expected: 2xx)");
        return false;
      }
      return true;
    } catch (IOException | IllegalArgumentException e) {
      System.err.println(url + " did not answer: " + e);
      return false;
    }
  }
}
