package dev.lakeforge.inference;

import dev.lakeforge.catalog.VerifiedArtifacts;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The models loaded in this JVM (an executor, or the driver in local mode), keyed by {@link
 * ModelSpec.Key} (name, version, checksum, device: {@code cpu} or the GPU's index, {@code cuda:1}).
 * A model is loaded on the first task that needs it, from the model store with its checksum
 * verified, and shared by every later task of the JVM; concurrent first tasks wait for the one
 * load. Models are closed when the JVM exits (a shutdown hook), after in-flight batches finish. The
 * loads are counted so jobs can report them.
 *
 * <p>The runtime options of the first load of a key win (threads); later plans with other options
 * reuse that model.
 */
public final class ModelCache {
  private static final Logger LOG = LoggerFactory.getLogger(ModelCache.class);

  /** How long closing at JVM exit waits for a batch in flight before leaving the model open. */
  private static final long CLOSE_WAIT_SECONDS = 10;

  private static final Map<ModelSpec.Key, Slot> MODELS = new ConcurrentHashMap<>();
  private static final AtomicLong LOADS = new AtomicLong();
  private static final AtomicBoolean HOOK = new AtomicBoolean();

  private ModelCache() {}

  /**
   * A task's use of a cached model.
   *
   * @param predictor the shared predictor; do not close it (the cache does)
   * @param loaded whether this call loaded the model (else it was already in the JVM)
   * @param loadNanos how long the load took when {@code loaded}, else 0
   * @param files the model version's verified local files (the model, a tokenizer...)
   */
  record Lease(
      Predictor predictor, boolean loaded, long loadNanos, VerifiedArtifacts.LocalFiles files) {}

  /**
   * The model of {@code spec} on the CPU, loading it if this JVM has not yet.
   *
   * @param hadoop Hadoop settings to reach a remote model store, asked for only when loading
   */
  static Lease acquire(ModelSpec spec, RuntimeOptions options, Supplier<Configuration> hadoop) {
    return acquire(spec, DeviceId.CPU, options, hadoop);
  }

  /**
   * The model of {@code spec} on device {@code on}, loading it there if this JVM has not yet.
   *
   * @param hadoop Hadoop settings to reach a remote model store, asked for only when loading
   */
  static Lease acquire(
      ModelSpec spec, DeviceId on, RuntimeOptions options, Supplier<Configuration> hadoop) {
    return MODELS.computeIfAbsent(spec.key(on), k -> new Slot()).lease(spec, on, options, hadoop);
  }

  /** How many models this JVM has loaded. */
  public static long loads() {
    return LOADS.get();
  }

  /** How many times this JVM loaded {@code key} (1 once used; 0 if never). */
  public static long loads(ModelSpec.Key key) {
    Slot s = MODELS.get(key);
    return s == null ? 0 : s.loads.get();
  }

  /** The keys of the models loaded in this JVM now. */
  public static Set<ModelSpec.Key> loaded() {
    return MODELS.entrySet().stream()
        .filter(e -> e.getValue().shared != null)
        .map(Map.Entry::getKey)
        .collect(java.util.stream.Collectors.toUnmodifiableSet());
  }

  /** Closes every loaded model (at JVM exit); a model busy past the wait is left to the OS. */
  static void closeAll() {
    for (Map.Entry<ModelSpec.Key, Slot> e : MODELS.entrySet()) {
      Slot s = e.getValue();
      synchronized (s) {
        if (s.shared != null) {
          s.shared.closeAfterInFlight(e.getKey());
          s.shared = null;
        }
      }
    }
  }

  private static void registerShutdownHook() {
    if (HOOK.compareAndSet(false, true)) {
      Runtime.getRuntime()
          .addShutdownHook(new Thread(ModelCache::closeAll, "lakeforge-model-cache-close"));
    }
  }

  /** One key's model: loaded once, under the slot's lock. */
  private static final class Slot {
    private final AtomicLong loads = new AtomicLong();
    private volatile SharedPredictor shared;
    private volatile VerifiedArtifacts.LocalFiles files;

    synchronized Lease lease(
        ModelSpec spec, DeviceId on, RuntimeOptions options, Supplier<Configuration> hadoop) {
      if (shared != null) {
        return new Lease(shared, false, 0, files);
      }
      long start = System.nanoTime();
      InferenceEngine engine = InferenceEngine.forFlavor(spec.flavor(), spec.toString());
      VerifiedArtifacts.LocalFiles local = ModelArtifacts.localVerified(spec, hadoop.get());
      java.nio.file.Path artifact = local.model();
      Predictor p = engine.load(artifact, spec, on, options);
      long took = System.nanoTime() - start;
      registerShutdownHook();
      files = local;
      shared = new SharedPredictor(p);
      loads.incrementAndGet();
      LOADS.incrementAndGet();
      LOG.info(
          "Loaded model {} ({}, {} threads) in {} ms from {}",
          spec.key(on),
          engine.name(),
          options.threads(),
          TimeUnit.NANOSECONDS.toMillis(took),
          artifact);
      return new Lease(shared, true, took, local);
    }
  }

  /** A predictor shared by tasks: batches run concurrently; closing waits for them. */
  private static final class SharedPredictor implements Predictor {
    private final Predictor delegate;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

    SharedPredictor(Predictor delegate) {
      this.delegate = delegate;
    }

    @Override
    public Map<String, Tensor> predict(Map<String, Tensor> inputs, Set<String> outputs) {
      lock.readLock().lock();
      try {
        return delegate.predict(inputs, outputs);
      } finally {
        lock.readLock().unlock();
      }
    }

    /** Tasks hold a lease, not ownership: only the cache closes. */
    @Override
    public void close() {}

    void closeAfterInFlight(ModelSpec.Key key) {
      try {
        if (lock.writeLock().tryLock(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
          try {
            delegate.close();
          } finally {
            lock.writeLock().unlock();
          }
        } else {
          LOG.warn("Model {} still busy after {} s at exit; not closed", key, CLOSE_WAIT_SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // At exit there is no caller to rethrow to, and one model failing to close must not
        // keep the others open.
        LOG.warn("Closing model {} at exit failed: {}", key, e.getMessage());
      }
    }
  }
}
