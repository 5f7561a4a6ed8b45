// Raw (unnormalised) embeddings computed by the evaluation, kept outside the repository so that re-running the
// vector-variant analysis does not re-run the model. Content-addressed, so it cannot go stale:
//   <tmpdir>/fip-eval-cache/<model sha256 prefix>/
//     inputs.bin   records of [sha256 of the 3x224x224 model input (32 bytes)][2048 float32 raw embedding]
//     recipes.tsv  "<sha256 of photo bytes>|<fitMode>|<smoothing>" TAB "<input sha256>", to skip decoding next time
// Keyed by the model input itself, a preprocessing variant that gives the same pixels (every fit mode draws a
// 224x224 photo 1:1) reuses the embedding instead of recomputing it. Appends only; a torn last record is dropped.
import { appendFileSync, existsSync, mkdirSync, readFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMBEDDING_DIMENSIONS } from "../../src/inference/model-session.ts";

const KEY_BYTES = 32;
const RECORD_BYTES = KEY_BYTES + EMBEDDING_DIMENSIONS * 4;

export class EmbeddingCache {
  readonly dir: string;
  readonly #embeddings = new Map<string, Float32Array>();
  readonly #recipes = new Map<string, string>();
  #pendingRecords: Uint8Array[] = [];
  #pendingRecipes: string[] = [];

  private constructor(dir: string) {
    this.dir = dir;
  }

  static open(modelSha256: string, root = join(tmpdir(), "fip-eval-cache")): EmbeddingCache {
    const dir = join(root, modelSha256.slice(0, 16));
    mkdirSync(dir, { recursive: true });
    const cache = new EmbeddingCache(dir);
    const inputs = join(dir, "inputs.bin");
    if (existsSync(inputs)) {
      const bytes = readFileSync(inputs);
      const whole = Math.floor(bytes.byteLength / RECORD_BYTES);
      if (whole * RECORD_BYTES !== bytes.byteLength) truncateSync(inputs, whole * RECORD_BYTES);
      for (let r = 0; r < whole; r++) {
        const start = r * RECORD_BYTES;
        const key = bytes.subarray(start, start + KEY_BYTES).toString("hex");
        const vector = new Float32Array(EMBEDDING_DIMENSIONS);
        new Uint8Array(vector.buffer).set(bytes.subarray(start + KEY_BYTES, start + RECORD_BYTES));
        cache.#embeddings.set(key, vector);
      }
    }
    const recipes = join(dir, "recipes.tsv");
    if (existsSync(recipes)) {
      for (const line of readFileSync(recipes, "utf8").split("\n")) {
        const [recipe, key] = line.split("\t");
        if (recipe && key?.length === KEY_BYTES * 2) cache.#recipes.set(recipe, key);
      }
    }
    return cache;
  }

  get size(): number {
    return this.#embeddings.size;
  }

  inputKeyOf(recipe: string): string | undefined {
    return this.#recipes.get(recipe);
  }

  embeddingOf(inputKey: string): Float32Array | undefined {
    return this.#embeddings.get(inputKey);
  }

  rememberRecipe(recipe: string, inputKey: string): void {
    if (this.#recipes.get(recipe) === inputKey) return;
    this.#recipes.set(recipe, inputKey);
    this.#pendingRecipes.push(`${recipe}\t${inputKey}\n`);
  }

  store(inputKey: string, embedding: Float32Array): void {
    if (this.#embeddings.has(inputKey)) return;
    const copy = embedding.slice();
    this.#embeddings.set(inputKey, copy);
    const record = new Uint8Array(RECORD_BYTES);
    record.set(Buffer.from(inputKey, "hex"), 0);
    record.set(new Uint8Array(copy.buffer), KEY_BYTES);
    this.#pendingRecords.push(record);
  }

  /** Appends what was added since the last flush. */
  flush(): void {
    if (this.#pendingRecords.length > 0) {
      appendFileSync(join(this.dir, "inputs.bin"), Buffer.concat(this.#pendingRecords));
      this.#pendingRecords = [];
    }
    if (this.#pendingRecipes.length > 0) {
      appendFileSync(join(this.dir, "recipes.tsv"), this.#pendingRecipes.join(""));
      this.#pendingRecipes = [];
    }
  }
}
