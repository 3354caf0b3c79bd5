/**
 * Batch inference: scoring a lakehouse table with an ONNX Runtime or DJL (PyTorch) model loaded
 * once per executor JVM, writing predictions exactly once. Depends on {@code
 * dev.lakeforge.lakehouse} and {@code dev.lakeforge.catalog}; nothing here yet (a later issue).
 */
package dev.lakeforge.inference;
