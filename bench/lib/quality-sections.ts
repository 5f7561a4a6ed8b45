// The numbered sections of the quality report (1-10): preprocessing, the 3:4 catalogue, the vector, fitted variants,
// shopper uploads by degradation, precision by category, the score, the deployed index and throughput.
import { EMBEDDING_DIMENSIONS as D } from "../../src/inference/model-session.ts";
import { PIPELINE } from "../../src/services.ts";
import { largestTypes } from "./dataset.ts";
import { DEGRADATIONS } from "./degrade.ts";
import { preprocessingName } from "./embed-photos.ts";
import { preprocessingCells, scoreCells, splitCells, vectorCells } from "./quality-cells.ts";
import { BASELINE, FIRST_DEFAULT, PORTRAIT_UPLOADS, type ReportInput, TODAY } from "./quality-input.ts";
import { num, pct, table } from "./report.ts";

export function numberedSections(r: ReportInput): string[] {
  const { dataset } = r;
  const out: string[] = [];
  const add = (...lines: string[]) => out.push(...lines);
  const compared = [
    { short: "old", long: "old system (squash/high + raw, L2)", e: r.old },
    { short: "v1", long: `first default (${preprocessingName(FIRST_DEFAULT)} + L2)`, e: r.firstDefault },
    { short: "v2", long: `pipeline v2 (${r.todayLabel}; v3 projects it, section 11)`, e: r.today },
    ...(r.candidateName === r.todayLabel ? [] : [{ short: "best", long: `best measured (${r.candidateName})`, e: r.candidate }]),
  ];

  add(
    "## 1. Preprocessing: fit mode and resize filter",
    "",
    "The labelled photos are 224x224 already, so every fit mode draws them 1:1 and the fit mode changes nothing " +
      "for them; it matters for photos of another shape (the shopper uploads, and a catalogue at its real 3:4 shape " +
      "in section 2). The filter is another matter: with @napi-rs/canvas, `imageSmoothingQuality = \"high\"` " +
      "resamples with a Mitchell-Netravali cubic (B = C = 1/3) even at scale 1, which blurs every photo with a " +
      "[1, 16, 1]/18 kernel in each direction; \"low\" and \"medium\" copy a 1:1 photo unchanged. Variants that gave " +
      "the model bit-identical catalogue inputs (checked by hashing the embeddings): " +
      r.identicalGroups.map((group) => `{${group.join(", ")}}`).join(", ") +
      ". The best row (by catalogue P@10 + shopper recall@1) is used for the vector sections below.",
    "",
    table(
      ["preprocessing (L2-normalised)", "P@10", ...DEGRADATIONS.map((d) => `${d.name} R@1`), "shopper R@1", "shopper R@5"],
      [
        [`squash/high + raw, 1/(1+d²) (old system)`, ...preprocessingCells(r.old)],
        ...r.preprocessings.map((p) => {
          const name = preprocessingName(p);
          const label =
            `${name}${name === preprocessingName(TODAY) ? " (today's fit mode and filter)" : ""}` +
            `${name === preprocessingName(FIRST_DEFAULT) ? " (first default, v1)" : ""}${name === r.bestName ? " **best**" : ""}`;
          return [label, ...preprocessingCells(r.byPreprocessing.get(name)!)];
        }),
      ],
    ),
    "",
    "Filters are the canvas's `imageSmoothingQuality` (the `smoothing` decode option, default high): low = " +
      "bilinear, medium = bilinear with mipmaps when shrinking, high = Mitchell cubic, which also filters photos drawn " +
      "1:1 (the catalogue photos and the 224x224 uploads), so with high every photo gets the same slight blur. " +
      "Old system = squash with the decoder's default filter (high); its own resizer is not known.",
    "",
  );

  if (r.portraitRows.length > 0) {
    add(
      "## 2. A catalogue at its real 3:4 shape",
      "",
      `The labelled photos are 3:4 product shots squeezed to a square; a shop's own catalogue holds them at 3:4. Here ` +
        `${r.portraitCount} catalogue photos are restored to 224x299 (JPEG q95) and embedded with each fit mode (filter of the best row above); ` +
        "the shopper set (embedded with the same fit mode) is searched against them.",
      "",
      table(
        ["3:4 catalogue", "P@1", "P@10", "mAP@10", "P@10 type+colour", ...PORTRAIT_UPLOADS.map((name) => `${name} R@1`), "all shopper R@1"],
        r.portraitRows,
      ),
      "",
      "The squeezed-square uploads (small-60x80, crop-85, jpeg-q40, flip) are not what a 3:4 shop's customers send, so " +
        "for this catalogue the two 3:4 upload columns matter more than the pooled one.",
      "",
    );
  }

  add(
    `## 3. The vector (whole catalogue, ${r.bestName})`,
    "",
    table(
      ["vector", "dims", "score", "P@1", "P@10", "mAP@10", "P@10 type+colour", "shopper R@1", "shopper R@5", "median top-1 score"],
      [
        ...(r.bestName === preprocessingName(BASELINE) ? [] : [[`squash/high + raw (old system)`, ...vectorCells(r.old)]]),
        ...r.whole.map((e) => [
          `${e.transform.description}${e.transform.fitted ? " (mean of all photos)" : ""}${e === r.candidate ? " **candidate**" : ""}`,
          ...vectorCells(e),
        ]),
      ],
    ),
    "",
    `## 4. Fitted variants: PCA and whitening (fit on ${r.fitCount} odd ids, measured within ${r.evalCount} even ids)`,
    "",
    `PCA of the L2-normalised fitting vectors (covariance ${D}x${D}, Householder + QL eigendecomposition in ` +
      `${r.pcaSeconds.toFixed(0)} s); variants centre on the fitting mean, project on the first d axes, optionally ` +
      "divide each axis by its standard deviation (whitening), and L2-normalise. Index size per vector is for float32.",
    "",
    table(
      ["vector", "dims", "bytes/vector", "P@1", "P@10", "P@10 vs L2", "mAP@10", "shopper R@1", "R@1 vs L2", "shopper R@5"],
      [
        ...(r.bestName === preprocessingName(BASELINE) ? [] : [["squash/high + raw (old system)", ...splitCells(r.oldSplit, r.splitL2)]]),
        ...r.split.map((e) => [e.transform.description, ...splitCells(e, r.splitL2)]),
      ],
    ),
    "",
    "## 5. Shopper uploads by degradation",
    "",
    table(
      ["degradation", ...compared.flatMap((c) => [`${c.short} R@1`, `${c.short} R@5`])],
      DEGRADATIONS.map((d, i) => [
        d.name,
        ...compared.flatMap((c) => [pct(c.e.perDegradation[i]!.recall1), pct(c.e.perDegradation[i]!.recall5)]),
      ]).concat([["**all**", ...compared.flatMap((c) => [pct(c.e.shopper.recall1), pct(c.e.shopper.recall5)])]]),
    ),
    "",
    compared.map((c) => `${c.short} = ${c.long}`).join("; ") + ".",
    "",
    "## 6. P@10 by masterCategory",
    "",
    table(
      ["masterCategory", "queries", ...compared.map((c) => c.short)],
      [...r.today.catalogue.byMasterCategory]
        .sort((a, b) => b[1].queries - a[1].queries)
        .map(([name, g]) => [name, g.queries, ...compared.map((c) => pct(c.e.catalogue.byMasterCategory.get(name)?.p10 ?? Number.NaN))]),
    ),
    "",
    "## 7. P@10 for the 15 largest articleTypes",
    "",
    table(
      ["articleType", "photos", ...compared.map((c) => c.short)],
      largestTypes(dataset, 15).map((type) => [
        type,
        dataset.photos.filter((photo) => photo.articleType === type).length,
        ...compared.map((c) => pct(c.e.catalogue.byArticleType.get(type)?.p10 ?? Number.NaN)),
      ]),
    ),
    "",
    "## 8. The score shown to users",
    "",
    "The score must stay in (0, 1], be 1.0 for an identical photo and grow with similarity. For unit vectors the " +
      "index's squared L2 distance d² = 2 - 2·cosine, so `1 - d²/2` is the cosine (the service's formula); ResNet50's " +
      "pooled features are non-negative, so for L2-normalised or square-rooted vectors the cosine is >= 0 and in " +
      "practice far above 0 (for square-rooted vectors it is the Bhattacharyya coefficient of the two feature " +
      "profiles). Centred or whitened vectors can have a negative cosine, so for those the score would be " +
      "`(1 + cosine)/2 = 1 - d²/4`. The old system's `1/(1+d²)` on raw vectors is 1.0 for an identical photo but " +
      "otherwise tiny and depends on the photo's feature magnitude, so no threshold means the same thing twice.",
    "",
    table(
      ["configuration", "formula", "median top-1", "5th pct of same-type hits", "lowest same-type hit", "1st pct of shopper matches", "hits hidden at 0.5", "hits hidden at 0.7"],
      [
        ...compared.map((c) => [c.long, ...scoreCells(c.e)]),
        [`best fitted (${r.bestFitted.transform.name}, even half)`, ...scoreCells(r.bestFitted)],
      ],
    ),
    "",
    "\"Same-type hits\" are the same-articleType results in every catalogue query's top 10; \"shopper matches\" the " +
      "scores of originals found at rank 1. The scores are relative (they rank), not calibrated probabilities: a " +
      "similar product routinely scores well below an exact re-upload, so the default `score_threshold` stays **0** " +
      "(keep everything, rank by score); clients that want a cut-off should pick it from this table for their " +
      "catalogue.",
    "",
    "## 9. The deployed index",
    "",
    `The candidate's vectors put into the service's \`VectorStore\` (a sealed segment: USearch f16 HNSW, connectivity 16, expansion 128/64) ` +
      "and searched through `store.search`, against the exact search above:",
    "",
    table(
      ["search", "P@1", "P@10", "mAP@10", "shopper R@1", "shopper R@5"],
      [
        ["exact (brute force)", pct(r.candidate.catalogue.p1), pct(r.candidate.catalogue.p10), pct(r.candidate.catalogue.map10), pct(r.candidate.shopper.recall1), pct(r.candidate.shopper.recall5)],
        ["VectorStore (HNSW)", pct(r.hnsw.catalogue.p1), pct(r.hnsw.catalogue.p10), pct(r.hnsw.catalogue.map10), pct(r.hnsw.shopper.recall1), pct(r.hnsw.shopper.recall5)],
      ],
    ),
    "",
    "## 10. Throughput",
    "",
    table(
      ["what", "photos", "seconds", "photos/s"],
      [
        [`the service's Embedder (embedImage, ${PIPELINE.fitMode}, ${PIPELINE.normalisation}, batches up to 16), first ${r.throughputPhotos} photos`, r.throughputPhotos, num(r.throughputPhotos / r.embedderRate, 1), num(r.embedderRate, 1)],
        ...r.embedRates.map((rate) => [`evaluation: ${rate.what} (decode overlapped with inference)`, rate.photos, num(rate.seconds, 0), num(rate.photos / rate.seconds, 1)]),
      ],
    ),
    "",
    r.embedRates.length === 0
      ? "Every embedding of this run came from the cache; only the Embedder row was measured in this run."
      : "Evaluation rows count only photos that went through the model in this run (the rest came from the cache).",
    "",
    "{{HTTP_SECTION}}",
    "",
  );
  return out;
}
