// What the quality report (docs/quality.md) is built from: one configuration's measurements, a whole run's results,
// and the configurations every run measures because the report compares them.
import { PIPELINE } from "../../src/services.ts";
import type { Dataset } from "./dataset.ts";
import type { Preprocessing } from "./embed-photos.ts";
import type { RunInfo } from "./report.ts";
import type { CatalogueMetrics, ShopperMetrics } from "./retrieval.ts";
import type { VectorTransform } from "./vector-variants.ts";

export const BASELINE: Preprocessing = { fitMode: "squash", smoothing: "high" };
export const TODAY: Preprocessing = { fitMode: PIPELINE.fitMode, smoothing: "high" };
/**
 * The vector these sections call "today": pipeline v2's (sqrt-l2, 2048-d). Pipeline v3 projects it with the projection
 * learned from these labels, measured on held-out photos by `npm run fit` (section 11), not here.
 */
export const V2_PIPELINE = "resnet50-imagenet/squash-224-cubic/sqrt-l2/v2";
/** The service's first default (pipeline v1), kept as a comparison: why the default changed. */
export const FIRST_DEFAULT: Preprocessing = { fitMode: "center-crop", smoothing: "high" };
/** The uploads at the products' real 3:4 shape: the ones a 3:4 catalogue's shoppers send. */
export const PORTRAIT_UPLOADS = ["portrait-3x4", "phone"];

export interface Evaluation {
  catalogue: CatalogueMetrics;
  /** Pooled over all degradations. */
  shopper: ShopperMetrics;
  perDegradation: ShopperMetrics[];
  transform: VectorTransform;
}

export interface ReportInput {
  info: RunInfo;
  dataset: Dataset;
  /** --limit, if given. */
  limit: number | undefined;
  /** Photos in the shopper set (each made into every degradation). */
  shopperPhotos: number;
  batchSize: number;
  preprocessings: Preprocessing[];
  byPreprocessing: Map<string, Evaluation>;
  old: Evaluation;
  today: Evaluation;
  /** Today's preprocessing + vector, e.g. "squash/high + sqrt-l2". */
  todayLabel: string;
  firstDefault: Evaluation;
  bestName: string;
  identicalGroups: string[][];
  portraitRows: (string | number)[][];
  portraitCount: number;
  whole: Evaluation[];
  candidate: Evaluation;
  candidateName: string;
  split: Evaluation[];
  oldSplit: Evaluation;
  splitL2: Evaluation;
  bestFitted: Evaluation;
  fitCount: number;
  evalCount: number;
  pcaSeconds: number;
  hnsw: Evaluation;
  embedRates: { what: string; photos: number; seconds: number }[];
  embedderRate: number;
  throughputPhotos: number;
  seconds: number;
}
