/**
 * Batch inference: scoring DataFrames and lakehouse tables with a registered model, loaded once per
 * executor JVM.
 *
 * <p>The public surface is {@link dev.lakeforge.inference.Scorer} (a lazy DataFrame transform), its
 * {@link dev.lakeforge.inference.Mappings} (model inputs from columns, output columns from model
 * outputs), the engine interfaces {@link dev.lakeforge.inference.InferenceEngine} and {@link
 * dev.lakeforge.inference.Predictor}, the per-JVM {@link dev.lakeforge.inference.ModelCache}, and
 * the job spec {@link dev.lakeforge.inference.InferenceJobSpec}. What crosses from the driver to
 * the executors is a small serializable plan holding a {@link dev.lakeforge.inference.ModelSpec}
 * (model name, version, sha256, artifact URI): never a catalog connection, never a loaded model.
 *
 * <p>Depends on {@code dev.lakeforge.core} and {@code dev.lakeforge.catalog}.
 */
package dev.lakeforge.inference;
