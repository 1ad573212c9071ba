package io.agentrouter.controlplane.catalog;

import static io.agentrouter.controlplane.db.Tables.CATALOG_IMAGE_PRICES;
import static io.agentrouter.controlplane.db.Tables.CATALOG_MODELS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.CatalogModelsRecord;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** The model catalog in PostgreSQL. Prices are micro-dollars; null means not priced. */
public final class CatalogStore {
  private final DSLContext dsl;

  public CatalogStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** Price of one image of a size and quality. */
  public record ImagePrice(String size, String quality, long micros) {}

  /** A catalog model. */
  public record ModelRow(
      String modelId,
      String provider,
      String name,
      boolean chat,
      boolean embeddings,
      boolean imageGeneration,
      boolean tools,
      boolean vision,
      boolean streaming,
      @Nullable Long inputPerMillion,
      @Nullable Long outputPerMillion,
      @Nullable Long cachedInputPerMillion,
      @Nullable Long perImage,
      List<ImagePrice> imagePrices,
      int contextWindow,
      int maxOutputTokens,
      Instant updatedAt) {}

  public static List<ModelRow> list(DSLContext dsl, @Nullable String provider) {
    var q = dsl.selectFrom(CATALOG_MODELS).where(org.jooq.impl.DSL.trueCondition());
    if (provider != null) {
      q = q.and(CATALOG_MODELS.PROVIDER.eq(provider));
    }
    List<CatalogModelsRecord> rows =
        q.orderBy(CATALOG_MODELS.PROVIDER, CATALOG_MODELS.NAME).fetch();
    Map<String, List<ImagePrice>> images = new HashMap<>();
    dsl.selectFrom(CATALOG_IMAGE_PRICES)
        .orderBy(
            CATALOG_IMAGE_PRICES.MODEL_ID, CATALOG_IMAGE_PRICES.SIZE, CATALOG_IMAGE_PRICES.QUALITY)
        .forEach(
            r ->
                images
                    .computeIfAbsent(r.getModelId(), k -> new ArrayList<>())
                    .add(new ImagePrice(r.getSize(), r.getQuality(), r.getPerImageMicros())));
    return rows.stream().map(r -> map(r, images.getOrDefault(r.getModelId(), List.of()))).toList();
  }

  public List<ModelRow> list(@Nullable String provider) {
    return list(dsl, provider);
  }

  public @Nullable ModelRow find(String modelId) {
    CatalogModelsRecord r =
        dsl.selectFrom(CATALOG_MODELS).where(CATALOG_MODELS.MODEL_ID.eq(modelId)).fetchOne();
    if (r == null) {
      return null;
    }
    List<ImagePrice> images =
        dsl.selectFrom(CATALOG_IMAGE_PRICES)
            .where(CATALOG_IMAGE_PRICES.MODEL_ID.eq(modelId))
            .orderBy(CATALOG_IMAGE_PRICES.SIZE, CATALOG_IMAGE_PRICES.QUALITY)
            .fetch(i -> new ImagePrice(i.getSize(), i.getQuality(), i.getPerImageMicros()));
    return map(r, images);
  }

  /** Inserts or replaces, in one transaction; false when inserting and the id exists. */
  boolean save(ModelRow m, boolean create) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          boolean exists = tx.fetchExists(CATALOG_MODELS, CATALOG_MODELS.MODEL_ID.eq(m.modelId()));
          if (create == exists) {
            return false;
          }
          if (exists) {
            tx.deleteFrom(CATALOG_MODELS).where(CATALOG_MODELS.MODEL_ID.eq(m.modelId())).execute();
          }
          tx.insertInto(CATALOG_MODELS)
              .set(CATALOG_MODELS.MODEL_ID, m.modelId())
              .set(CATALOG_MODELS.PROVIDER, m.provider())
              .set(CATALOG_MODELS.NAME, m.name())
              .set(CATALOG_MODELS.CHAT, m.chat())
              .set(CATALOG_MODELS.EMBEDDINGS, m.embeddings())
              .set(CATALOG_MODELS.IMAGE_GENERATION, m.imageGeneration())
              .set(CATALOG_MODELS.TOOLS, m.tools())
              .set(CATALOG_MODELS.VISION, m.vision())
              .set(CATALOG_MODELS.STREAMING, m.streaming())
              .set(CATALOG_MODELS.INPUT_PER_MILLION_MICROS, m.inputPerMillion())
              .set(CATALOG_MODELS.OUTPUT_PER_MILLION_MICROS, m.outputPerMillion())
              .set(CATALOG_MODELS.CACHED_INPUT_PER_MILLION_MICROS, m.cachedInputPerMillion())
              .set(CATALOG_MODELS.PER_IMAGE_MICROS, m.perImage())
              .set(CATALOG_MODELS.CONTEXT_WINDOW, m.contextWindow())
              .set(CATALOG_MODELS.MAX_OUTPUT_TOKENS, m.maxOutputTokens())
              .set(CATALOG_MODELS.UPDATED_AT, m.updatedAt().atOffset(ZoneOffset.UTC))
              .execute();
          for (ImagePrice p : m.imagePrices()) {
            tx.insertInto(CATALOG_IMAGE_PRICES)
                .set(CATALOG_IMAGE_PRICES.MODEL_ID, m.modelId())
                .set(CATALOG_IMAGE_PRICES.SIZE, p.size())
                .set(CATALOG_IMAGE_PRICES.QUALITY, p.quality())
                .set(CATALOG_IMAGE_PRICES.PER_IMAGE_MICROS, p.micros())
                .execute();
          }
          return true;
        });
  }

  boolean delete(String modelId) {
    return dsl.deleteFrom(CATALOG_MODELS).where(CATALOG_MODELS.MODEL_ID.eq(modelId)).execute() > 0;
  }

  private static ModelRow map(CatalogModelsRecord r, List<ImagePrice> images) {
    return new ModelRow(
        r.getModelId(),
        r.getProvider(),
        r.getName(),
        r.getChat(),
        r.getEmbeddings(),
        r.getImageGeneration(),
        r.getTools(),
        r.getVision(),
        r.getStreaming(),
        r.getInputPerMillionMicros(),
        r.getOutputPerMillionMicros(),
        r.getCachedInputPerMillionMicros(),
        r.getPerImageMicros(),
        images,
        r.getContextWindow(),
        r.getMaxOutputTokens(),
        r.getUpdatedAt().toInstant());
  }
}
