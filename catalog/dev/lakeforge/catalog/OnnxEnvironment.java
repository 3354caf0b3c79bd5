package dev.lakeforge.catalog;

import ai.onnxruntime.OrtEnvironment;

/**
 * ONNX Runtime's process-wide environment, for every Lakeforge use of ONNX Runtime (signatures at
 * registration, scoring on the executors). It is created once, on a thread of its own with a large
 * stack: the native initialisation's recursion grows with the JVM's command line (ONNX Runtime
 * 1.29.0), and with a class path of a few KB — a `java -cp` launch, a Spark executor started with
 * an explicit class path — it overflowed a normal thread's 1 MB stack and killed the JVM with
 * SIGSEGV, leaving no Java error and no crash log.
 */
public final class OnnxEnvironment {
  /** Stack of the thread that creates the environment. */
  static final long INIT_STACK_BYTES = 256L << 20;

  private static volatile OrtEnvironment environment;

  private OnnxEnvironment() {}

  /** The environment, created on first use. */
  public static OrtEnvironment get() {
    OrtEnvironment env = environment;
    if (env != null) {
      return env;
    }
    synchronized (OnnxEnvironment.class) {
      if (environment == null) {
        environment = create();
      }
      return environment;
    }
  }

  private static OrtEnvironment create() {
    OrtEnvironment[] env = new OrtEnvironment[1];
    Throwable[] error = new Throwable[1];
    Thread init =
        new Thread(
            null,
            () -> {
              try {
                env[0] = OrtEnvironment.getEnvironment();
              } catch (Throwable e) { // an UnsatisfiedLinkError must reach the caller too
                error[0] = e;
              }
            },
            "lakeforge-onnxruntime-init",
            INIT_STACK_BYTES);
    init.setDaemon(true);
    init.start();
    boolean interrupted = false;
    while (true) {
      try {
        init.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // the environment is process-wide: finish creating it
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    if (error[0] instanceof RuntimeException re) {
      throw re;
    }
    if (error[0] instanceof Error err) {
      throw err;
    }
    if (error[0] != null) {
      throw new IllegalStateException("Cannot start ONNX Runtime: " + error[0], error[0]);
    }
    return env[0];
  }
}
