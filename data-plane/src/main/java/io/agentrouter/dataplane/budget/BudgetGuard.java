package io.agentrouter.dataplane.budget;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.dataplane.budget.BudgetLedger.Reservation;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.config.Target;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Enforces monthly budgets: reserves the request's worst-case cost before the upstream call and
 * settles with the real cost when the request ends. Over budget, the client gets OpenAI's 429
 * {@code insufficient_quota}.
 *
 * <p>The estimate: prompt tokens (request bytes / 4) plus the completion cap ({@code
 * max_completion_tokens} or {@code max_tokens}, else {@value #DEFAULT_COMPLETION_TOKENS}, at most
 * {@value #MAX_COMPLETION_TOKENS}) times {@code n}, priced at the dearest target of the route; for
 * images, {@code n} images. It sits after model resolution because the price depends on the model.
 */
public final class BudgetGuard extends SimpleDecoratingHttpService {
  static final long DEFAULT_COMPLETION_TOKENS = 4096;
  static final long MAX_COMPLETION_TOKENS = 32_768;
  private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);
  private static final String INSUFFICIENT_QUOTA = "insufficient_quota";

  private final BudgetLedger ledger;

  private BudgetGuard(HttpService delegate, BudgetLedger ledger) {
    super(delegate);
    this.ledger = ledger;
  }

  public static Function<HttpService, BudgetGuard> newDecorator(BudgetLedger ledger) {
    requireNonNull(ledger, "ledger");
    return delegate -> new BudgetGuard(delegate, ledger);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    if (!ex.endpoint().proxied()) {
      return unwrap().serve(ctx, req);
    }
    KeyConfig key = ex.key();
    ProjectConfig project = ex.config().project(key.projectId());
    if (key.monthlyBudgetUsd() == null && (project == null || project.monthlyBudgetUsd() == null)) {
      return unwrap().serve(ctx, req);
    }
    BigDecimal estimate = estimate(ex);
    CompletableFuture<Reservation> f = ledger.reserve(key, project, estimate).toCompletableFuture();
    if (f.isDone() && !f.isCompletedExceptionally()) {
      return decide(ctx, req, ex, f.join());
    }
    return HttpResponse.of(
        f.handleAsync(
            (r, cause) -> {
              if (cause != null) {
                return OpenAiErrorResponses.of(
                    HttpStatus.SERVICE_UNAVAILABLE,
                    "The budget ledger is unavailable; try again shortly.",
                    OpenAiErrorResponses.SERVER,
                    null,
                    "budget_unavailable");
              }
              try {
                return decide(ctx, req, ex, r);
              } catch (Exception e) {
                return HttpResponse.ofFailure(e);
              }
            },
            ctx.eventLoop()));
  }

  private HttpResponse decide(
      ServiceRequestContext ctx, HttpRequest req, Exchange ex, Reservation r) throws Exception {
    if (!r.granted()) {
      return OpenAiErrorResponses.of(
          HttpStatus.TOO_MANY_REQUESTS,
          "You exceeded your current quota: this "
              + r.deniedScope()
              + "'s monthly budget of $"
              + r.budgetUsd().toPlainString()
              + " is used up ($"
              + r.spentUsd().stripTrailingZeros().toPlainString()
              + " spent, $"
              + r.reservedUsd().stripTrailingZeros().toPlainString()
              + " reserved by requests in progress). Raise the budget or wait for next month.",
          INSUFFICIENT_QUOTA,
          null,
          INSUFFICIENT_QUOTA);
    }
    ctx.log().whenComplete().thenRun(() -> ledger.settle(r, ex.costUsd()));
    return unwrap().serve(ctx, req);
  }

  /** The most this request can cost, from the route's dearest target. */
  static BigDecimal estimate(Exchange ex) {
    Route route = ex.route(Route.class);
    ObjectNode body = ex.body();
    long n = Math.max(1, body.path("n").asLong(1));
    BigDecimal in = BigDecimal.ZERO;
    BigDecimal out = BigDecimal.ZERO;
    BigDecimal image = BigDecimal.ZERO;
    for (Target t : route.targets()) {
      CatalogModel m = t.model();
      in = in.max(m.inputUsdPerMTok());
      out = out.max(m.outputUsdPerMTok());
      image = image.max(m.imageUsd());
    }
    return switch (ex.endpoint()) {
      case IMAGES -> image.multiply(BigDecimal.valueOf(n));
      case EMBEDDINGS -> perMillion(in, ex.estimatedTokens());
      default -> {
        long requested =
            Math.max(maxTokens(body, "max_completion_tokens"), maxTokens(body, "max_tokens"));
        long prompt = Math.max(0, ex.estimatedTokens() - requested * n);
        long completion =
            Math.min(requested > 0 ? requested : DEFAULT_COMPLETION_TOKENS, MAX_COMPLETION_TOKENS)
                * n;
        yield perMillion(in, prompt).add(perMillion(out, completion));
      }
    };
  }

  private static long maxTokens(ObjectNode body, String field) {
    JsonNode v = body.get(field);
    return v == null || !v.canConvertToLong() ? 0 : Math.max(0, v.asLong());
  }

  private static BigDecimal perMillion(BigDecimal price, long tokens) {
    return price.multiply(BigDecimal.valueOf(tokens)).divide(MILLION, 10, RoundingMode.UP);
  }
}
