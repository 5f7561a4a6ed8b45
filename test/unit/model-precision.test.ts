// A model's precision is read from its operators, so a MODEL_PATH of the other precision is refused before its vectors
// are filed under the wrong pipeline name.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkModelPrecision, modelPrecisionOf } from "../../src/inference/model-precision.ts";
import { INT8_MODEL_PATH, MODEL_PATH, requireInt8Model, requireModel, tempDir } from "../helpers/environment.ts";

const HAVE_MODELS = requireModel("model precision") && requireInt8Model("model precision");

describe.if(HAVE_MODELS)("model precision", () => {
  test("the fp32 model reads as fp32 and the int8 one as int8", () => {
    expect(modelPrecisionOf(Bun.mmap(MODEL_PATH!))).toBe("fp32");
    expect(modelPrecisionOf(Bun.mmap(INT8_MODEL_PATH!))).toBe("int8");
  });

  test("a model of the other precision is refused, saying what to set", () => {
    expect(() => checkModelPrecision(MODEL_PATH!, "fp32")).not.toThrow();
    expect(() => checkModelPrecision(INT8_MODEL_PATH!, "int8")).not.toThrow();
    expect(() => checkModelPrecision(MODEL_PATH!, "int8")).toThrow(
      `the model at ${MODEL_PATH} (MODEL_PATH) is an fp32 model, but INFERENCE_PRECISION is int8: set INFERENCE_PRECISION=fp32, or unset MODEL_PATH`,
    );
    expect(() => checkModelPrecision(INT8_MODEL_PATH!, "fp32")).toThrow("is an int8 model, but INFERENCE_PRECISION is fp32");
  });

  test("a truncated model is refused as not an ONNX file (a field's length runs past the end)", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "model.onnx");
    writeFileSync(path, Bun.mmap(INT8_MODEL_PATH!).subarray(0, 4096));
    expect(() => checkModelPrecision(path, "int8")).toThrow(`the model at ${path} (MODEL_PATH) is not an ONNX file`);
  });
});

test("a file that is not an ONNX model is refused as such", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "model.onnx");
  writeFileSync(path, '{"not": "a model"}');
  expect(() => checkModelPrecision(path, "int8")).toThrow(`the model at ${path} (MODEL_PATH) is not an ONNX file`);
});
