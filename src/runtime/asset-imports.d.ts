// Files imported `with { type: "file" }` by src/runtime/embedded-files.ts: Bun gives their path.
declare module "*.node" {
  const path: string;
  export default path;
}
declare module "*.so.1" {
  const path: string;
  export default path;
}
declare module "*/libvips-cpp.so.8.18.7" {
  const path: string;
  export default path;
}
declare module "*.onnx" {
  const path: string;
  export default path;
}
declare module "*.wasm" {
  const path: string;
  export default path;
}
declare module "onnxruntime-web/ort-wasm-simd-threaded.mjs" {
  const path: string;
  export default path;
}
declare module "*.bin" {
  const path: string;
  export default path;
}
