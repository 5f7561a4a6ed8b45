// One configuration measured: the catalogue and shopper queries over its transformed vectors, by exact search, or
// through the service's own VectorStore (HNSW) searched as deployed.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EMBEDDING_DIMENSIONS as D } from "../../src/inference/model-session.ts";
import { VectorStore } from "../../src/store/vector-store.ts";
import { type Dataset, range } from "./dataset.ts";
import { DEGRADATIONS, type ShopperSet, splitByDegradation } from "./degrade.ts";
import type { Evaluation } from "./quality-input.ts";
import { pct } from "./report.ts";
import { type CatalogueMetrics, catalogueMetrics, exactNeighbours, type Neighbours, selectRows, shopperMetrics } from "./retrieval.ts";
import { pickRows, SCORE_FORMULAS, type VectorTransform } from "./vector-variants.ts";

export class Evaluator {
  readonly #dataset: Dataset;
  readonly #shopper: ShopperSet;
  readonly #log: (line: string) => void;
  /** Catalogue metrics by transform and rows: an unfitted transform's neighbours depend only on the rows. */
  readonly #memo = new Map<string, CatalogueMetrics>();

  constructor(dataset: Dataset, shopper: ShopperSet, log: (line: string) => void) {
    this.#dataset = dataset;
    this.#shopper = shopper;
    this.#log = log;
  }

  /** Exact search over `transform`'s vectors, within `databasePhotos`, logged under `key`. */
  exact(
    transform: VectorTransform,
    key: string,
    /** Raw rows of the database photos, in the order of `databasePhotos`. */
    databaseRows: Float32Array,
    databasePhotos: number[],
    rawShopper: Float32Array,
  ): Evaluation {
    const dataset = this.#dataset;
    const { sample, origins: shopperOrigins } = this.#shopper;
    const t0 = performance.now();
    const score = SCORE_FORMULAS[transform.score].of;
    const database = transform.apply(databaseRows);
    // An unfitted transform's neighbours depend only on the rows: variants with identical inputs share one search.
    const memoKey = `${transform.name}|${transform.fitted ? key : ""}|${Bun.hash(databaseRows)}`;
    let catalogue = this.#memo.get(memoKey);
    if (!catalogue) {
      const neighbours = exactNeighbours(database, databasePhotos, database, transform.dims, 10 + dataset.largestGroup, score);
      catalogue = catalogueMetrics(dataset, databasePhotos, databasePhotos, neighbours);
      this.#memo.set(memoKey, catalogue);
    }
    // Shopper queries whose original is in this database.
    const inDatabase = new Set(databasePhotos);
    const rows = shopperOrigins.map((origin, row) => (inDatabase.has(origin) ? row : -1)).filter((row) => row >= 0);
    const queries = transform.apply(rows.length === shopperOrigins.length ? rawShopper : pickRows(rawShopper, D, rows));
    const neighbours = exactNeighbours(database, databasePhotos, queries, transform.dims, 5, score);
    const origins = rows.map((row) => shopperOrigins[row]!);
    const shopper = shopperMetrics(dataset, origins, neighbours);
    const perDegradation = DEGRADATIONS.map((_, d) => {
      const mine = rows.map((row, q) => (Math.floor(row / sample.length) === d ? q : -1)).filter((q) => q >= 0);
      return shopperMetrics(dataset, mine.map((q) => origins[q]!), selectRows(neighbours, mine));
    });
    this.#log(
      `  ${key}: P@1 ${pct(catalogue.p1)} P@10 ${pct(catalogue.p10)} mAP@10 ${pct(catalogue.map10)} ` +
        `shopper R@1 ${pct(shopper.recall1)} R@5 ${pct(shopper.recall5)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return { catalogue, shopper, perDegradation, transform };
  }

  /** The whole catalogue put into a VectorStore in a temporary directory, searched through its sealed segment's graph. */
  async inStore(transform: VectorTransform, rawCatalogue: Float32Array, rawShopper: Float32Array): Promise<Evaluation> {
    const dataset = this.#dataset;
    const n = dataset.photos.length;
    const { sample, origins: shopperOrigins } = this.#shopper;
    const dataDir = await mkdtemp(join(tmpdir(), "fip-eval-store-"));
    try {
      const store = await VectorStore.open({ dataDir, dimensions: transform.dims, pipeline: "eval" });
      const database = transform.apply(rawCatalogue);
      const score = SCORE_FORMULAS[transform.score].of;
      await Promise.all(dataset.photos.map((photo, i) => store.put(photo.id, database.slice(i * transform.dims, (i + 1) * transform.dims))));
      await store.idle(); // searched as deployed: the sealed segment's graph, not the in-memory scan before it
      const search = (vectors: Float32Array, k: number): Neighbours => {
        const count = vectors.length / transform.dims;
        const neighbours: Neighbours = { k, index: new Int32Array(count * k).fill(-1), score: new Float32Array(count * k) };
        for (let q = 0; q < count; q++) {
          store.search(vectors.subarray(q * transform.dims, (q + 1) * transform.dims), k).forEach((result, j) => {
            neighbours.index[q * k + j] = dataset.indexOfId.get(result.id)!;
            neighbours.score[q * k + j] = score(result.distance);
          });
        }
        return neighbours;
      };
      const catalogue = catalogueMetrics(dataset, range(n), range(n), search(database, 10 + dataset.largestGroup));
      const shopperNeighbours = search(transform.apply(rawShopper), 5);
      const shopper = shopperMetrics(dataset, shopperOrigins, shopperNeighbours);
      const perDegradation = splitByDegradation(shopperNeighbours, 5, sample.length).map((nb) => shopperMetrics(dataset, sample, nb));
      await store.close();
      return { catalogue, shopper, perDegradation, transform };
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }
}
