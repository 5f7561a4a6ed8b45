// Similar-product search: nearest vectors in the store, turned into the scores clients see.
import { imageUrlFor } from "../config.ts";
import { AppError } from "../errors.ts";
import type { Embedder } from "../inference/embedder.ts";
import { type ServiceObserver, secondsSince, silentObserver } from "../observability/observer.ts";
import type { Neighbour, VectorIndex } from "../store/vector-index.ts";

/**
 * The score shown to clients: the cosine similarity of the two unit-length embeddings, from the squared L2 distance
 * d² the index returns: score = 1 - d²/2. It is 1.0 for an identical photo and falls as photos differ. The learned
 * projection's parts are centred, so two unrelated products can have a cosine below 0: shown as 0 (on the labelled
 * photos no same-type result in a top 10 comes near it, docs/quality.md section 11). Rounded to 6 decimals so float
 * noise cannot turn an identical photo's 1.0 into 0.99999994.
 */
export function similarityScore(squaredDistance: number): number {
  const cosine = 1 - squaredDistance / 2;
  return Math.round(Math.min(1, Math.max(0, cosine)) * 1e6) / 1e6;
}

export interface SimilarProduct {
  id: number;
  similarity_score: number;
  image_url: string;
}

export interface SimilarityQuery {
  topN: number;
  scoreThreshold: number;
  /** Leave this product out of the answer (the product the shopper is looking at). */
  excludeId?: number;
}

export class SimilarityService {
  readonly #store: VectorIndex;
  /** Null where no model runs (an extra HTTP loop, which searches by stored product only). */
  readonly #embedder: Embedder | null;
  readonly #imageUrlTemplate: string;
  readonly #observer: Pick<ServiceObserver, "search">;

  constructor(options: {
    store: VectorIndex;
    embedder: Embedder | null;
    imageUrlTemplate: string;
    observer?: Pick<ServiceObserver, "search">;
  }) {
    this.#store = options.store;
    this.#embedder = options.embedder;
    this.#imageUrlTemplate = options.imageUrlTemplate;
    this.#observer = options.observer ?? silentObserver;
  }

  async similarToProduct(productId: number, query: SimilarityQuery): Promise<SimilarProduct[]> {
    const vector = await this.#store.vectorOf(productId);
    if (!vector) {
      throw new AppError(
        "EMBEDDING_NOT_FOUND",
        404,
        `product ${productId} has no embedding; create it with POST /embeddings/product/${productId}`,
      );
    }
    return this.#answer(await this.#search(vector, query.topN + (query.excludeId === undefined ? 0 : 1)), query);
  }

  async similarToPhoto(photo: Uint8Array, query: SimilarityQuery): Promise<SimilarProduct[]> {
    if (!this.#embedder) throw new Error("this similarity service has no model: photos are searched on the main thread");
    const vector = await this.#embedder.embedImage(photo, { interactive: true });
    return this.#answer(await this.#search(vector, query.topN), query);
  }

  async #search(vector: Float32Array, k: number): Promise<Neighbour[]> {
    const startedAt = performance.now();
    const neighbours = await this.#store.nearest(vector, k);
    this.#observer.search(secondsSince(startedAt));
    return neighbours;
  }

  #answer(neighbours: Neighbour[], query: SimilarityQuery): SimilarProduct[] {
    return neighbours
      .filter((neighbour) => neighbour.id !== query.excludeId)
      .map((neighbour) => ({
        id: neighbour.id,
        similarity_score: similarityScore(neighbour.distance),
        image_url: imageUrlFor(this.#imageUrlTemplate, neighbour.id),
      }))
      .filter((product) => product.similarity_score >= query.scoreThreshold)
      .slice(0, query.topN);
  }
}
