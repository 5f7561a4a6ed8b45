// The learned projection the service applies (models/fashion-projection.bin, written by `npm run fit`). Imported as a
// file, so the compiled binary carries it like the model; `bun src/main.ts` reads it from the repository.
import { readFileSync } from "node:fs";
import projectionFile from "../../models/fashion-projection.bin" with { type: "file" };
import { decodeProjection, type Projection } from "./projection.ts";

export const SHIPPED_PROJECTION_PATH: string = projectionFile;

export function loadShippedProjection(): Projection {
  return decodeProjection(new Uint8Array(readFileSync(projectionFile)));
}
