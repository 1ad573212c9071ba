package io.agentrouter.controlplane.catalog;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.controlplane.catalog.CatalogStore.ImagePrice;
import io.agentrouter.controlplane.catalog.CatalogStore.ModelRow;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.proto.admin.v1.CatalogModel;
import io.agentrouter.proto.admin.v1.CatalogServiceGrpc;
import io.agentrouter.proto.admin.v1.CreateModelRequest;
import io.agentrouter.proto.admin.v1.DeleteModelRequest;
import io.agentrouter.proto.admin.v1.GetModelRequest;
import io.agentrouter.proto.admin.v1.ListModelsRequest;
import io.agentrouter.proto.admin.v1.ListModelsResponse;
import io.agentrouter.proto.admin.v1.ModelCapabilities;
import io.agentrouter.proto.admin.v1.ModelPrices;
import io.agentrouter.proto.admin.v1.UpdateModelRequest;
import io.grpc.stub.StreamObserver;
import java.math.BigDecimal;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** The model catalog: anyone authenticated reads it, operators change it. */
public final class CatalogGrpcService extends CatalogServiceGrpc.CatalogServiceImplBase {
  private static final Pattern PROVIDER = Pattern.compile("[a-z][a-z0-9_]{0,31}");
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}");
  private static final Pattern SIZE = Pattern.compile("[0-9]{1,5}x[0-9]{1,5}|auto");
  private static final Pattern QUALITY = Pattern.compile("[a-z]{1,32}");

  private final Authenticator auth;
  private final CatalogStore store;
  private final Clock clock;

  public CatalogGrpcService(Authenticator auth, CatalogStore store, Clock clock) {
    this.auth = requireNonNull(auth, "auth");
    this.store = requireNonNull(store, "store");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void listModels(ListModelsRequest r, StreamObserver<ListModelsResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          String provider = r.getProvider().isBlank() ? null : r.getProvider().strip();
          ListModelsResponse.Builder b = ListModelsResponse.newBuilder();
          store.list(provider).forEach(m -> b.addModels(toProto(m)));
          return b.build();
        });
  }

  @Override
  public void getModel(GetModelRequest r, StreamObserver<CatalogModel> out) {
    Rpc.unary(auth, out, () -> toProto(find(r.getModelId())));
  }

  @Override
  public void createModel(CreateModelRequest r, StreamObserver<CatalogModel> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          operator("add catalog models");
          ModelRow m = fromProto(r.getModel());
          if (!store.save(m, true)) {
            throw ApiException.conflict(
                "catalog model '" + m.modelId() + "' exists (expected a new id; use UpdateModel)");
          }
          return toProto(requireNonNull(store.find(m.modelId())));
        });
  }

  @Override
  public void updateModel(UpdateModelRequest r, StreamObserver<CatalogModel> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          operator("change catalog models");
          String id = modelId(r.getModelId());
          ModelRow m = fromProto(r.getModel());
          if (!m.modelId().equals(id)) {
            throw ApiException.invalid(
                "model",
                "provider/name '"
                    + m.modelId()
                    + "' does not match model_id '"
                    + id
                    + "' (expected the same)");
          }
          if (!store.save(m, false)) {
            throw ApiException.notFound("catalog model", id);
          }
          return toProto(requireNonNull(store.find(id)));
        });
  }

  @Override
  public void deleteModel(DeleteModelRequest r, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          operator("remove catalog models");
          String id = modelId(r.getModelId());
          if (!store.delete(id)) {
            throw ApiException.notFound("catalog model", id);
          }
          return Empty.getDefaultInstance();
        });
  }

  private void operator(String action) {
    if (!auth.current().operator()) {
      throw ApiException.forbidden("only operators may " + action + " (expected an operator)");
    }
  }

  private ModelRow find(String raw) {
    String id = modelId(raw);
    ModelRow m = store.find(id);
    if (m == null) {
      throw ApiException.notFound("catalog model", id);
    }
    return m;
  }

  private static String modelId(String raw) {
    String v = raw == null ? "" : raw.strip();
    int slash = v.indexOf('/');
    if (slash <= 0 || slash == v.length() - 1) {
      throw ApiException.invalid(
          "model_id", "'" + v + "' is not '<provider>/<name>' (expected e.g. 'openai/gpt-4o')");
    }
    return v;
  }

  private ModelRow fromProto(CatalogModel m) {
    String provider = m.getProvider().strip();
    if (!PROVIDER.matcher(provider).matches()) {
      throw ApiException.invalid(
          "model.provider",
          "'" + provider + "' is not a provider type (expected lower-case letters, e.g. 'openai')");
    }
    String name = m.getName().strip();
    if (!NAME.matcher(name).matches()) {
      throw ApiException.invalid(
          "model.name",
          "'" + name + "' is not a model name (expected letters, digits, '.', '-', '_', ':', '@')");
    }
    if (m.getContextWindow() < 0 || m.getMaxOutputTokens() < 0) {
      throw ApiException.invalid(
          "model.context_window", "is negative (expected >= 0, 0 when unknown)");
    }
    ModelCapabilities c = m.getCapabilities();
    ModelPrices p = m.getPrices();
    List<ImagePrice> images = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (var ip : p.getImagePricesList()) {
      if (!SIZE.matcher(ip.getSize()).matches() || !QUALITY.matcher(ip.getQuality()).matches()) {
        throw ApiException.invalid(
            "model.prices.image_prices",
            "size '"
                + ip.getSize()
                + "' / quality '"
                + ip.getQuality()
                + "' (expected e.g. '1024x1024' / 'standard')");
      }
      if (!seen.add(ip.getSize() + "/" + ip.getQuality())) {
        throw ApiException.invalid(
            "model.prices.image_prices",
            "'" + ip.getSize() + "/" + ip.getQuality() + "' appears twice (expected once)");
      }
      Long micros = usd("model.prices.image_prices.usd", ip.getUsd());
      if (micros == null) {
        throw ApiException.invalid("model.prices.image_prices.usd", "is required");
      }
      images.add(new ImagePrice(ip.getSize(), ip.getQuality(), micros));
    }
    return new ModelRow(
        provider + "/" + name,
        provider,
        name,
        c.getChat(),
        c.getEmbeddings(),
        c.getImageGeneration(),
        c.getTools(),
        c.getVision(),
        c.getStreaming(),
        usd("model.prices.input_per_million_tokens_usd", p.getInputPerMillionTokensUsd()),
        usd("model.prices.output_per_million_tokens_usd", p.getOutputPerMillionTokensUsd()),
        usd(
            "model.prices.cached_input_per_million_tokens_usd",
            p.getCachedInputPerMillionTokensUsd()),
        usd("model.prices.per_image_usd", p.getPerImageUsd()),
        images,
        m.getContextWindow(),
        m.getMaxOutputTokens(),
        Fields.micros(clock.instant()));
  }

  /** A decimal dollar string to micro-dollars; empty means not priced. */
  static @Nullable Long usd(String field, String value) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      return null;
    }
    try {
      BigDecimal d = new BigDecimal(v);
      if (d.signum() < 0 || d.compareTo(BigDecimal.valueOf(1_000_000)) > 0) {
        throw ApiException.invalid(field, "'" + v + "' is out of range (expected 0-1000000 USD)");
      }
      return d.movePointRight(6).setScale(0, java.math.RoundingMode.UNNECESSARY).longValueExact();
    } catch (ArithmeticException | NumberFormatException e) {
      throw ApiException.invalid(
          field, "'" + v + "' is not a dollar amount (expected e.g. '2.50', at most 6 decimals)");
    }
  }

  static String usd(@Nullable Long micros) {
    return micros == null ? "" : BigDecimal.valueOf(micros, 6).stripTrailingZeros().toPlainString();
  }

  static CatalogModel toProto(ModelRow m) {
    ModelPrices.Builder prices =
        ModelPrices.newBuilder()
            .setInputPerMillionTokensUsd(usd(m.inputPerMillion()))
            .setOutputPerMillionTokensUsd(usd(m.outputPerMillion()))
            .setCachedInputPerMillionTokensUsd(usd(m.cachedInputPerMillion()))
            .setPerImageUsd(usd(m.perImage()));
    for (ImagePrice ip : m.imagePrices()) {
      prices.addImagePrices(
          io.agentrouter.proto.admin.v1.ImagePrice.newBuilder()
              .setSize(ip.size())
              .setQuality(ip.quality())
              .setUsd(usd(ip.micros())));
    }
    return CatalogModel.newBuilder()
        .setModelId(m.modelId())
        .setProvider(m.provider())
        .setName(m.name())
        .setCapabilities(
            ModelCapabilities.newBuilder()
                .setChat(m.chat())
                .setEmbeddings(m.embeddings())
                .setImageGeneration(m.imageGeneration())
                .setTools(m.tools())
                .setVision(m.vision())
                .setStreaming(m.streaming()))
        .setPrices(prices)
        .setContextWindow(m.contextWindow())
        .setMaxOutputTokens(m.maxOutputTokens())
        .setUpdatedAt(Fields.timestamp(m.updatedAt()))
        .build();
  }
}
