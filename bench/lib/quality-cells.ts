// The cells of one configuration's row in each table of the quality report, from its evaluation.
import { DEGRADATIONS } from "./degrade.ts";
import { type Evaluation, PORTRAIT_UPLOADS } from "./quality-input.ts";
import { num, pct, signedPoints } from "./report.ts";
import { quantile } from "./retrieval.ts";
import { SCORE_FORMULAS } from "./vector-variants.ts";

export function preprocessingCells(e: Evaluation): string[] {
  return [pct(e.catalogue.p10), ...e.perDegradation.map((m) => pct(m.recall1)), pct(e.shopper.recall1), pct(e.shopper.recall5)];
}

export function portraitCells(e: Evaluation): string[] {
  const perDegradation = PORTRAIT_UPLOADS.map((name) => pct(e.perDegradation[DEGRADATIONS.findIndex((d) => d.name === name)]!.recall1));
  return [pct(e.catalogue.p1), pct(e.catalogue.p10), pct(e.catalogue.map10), pct(e.catalogue.p10TypeColour), ...perDegradation, pct(e.shopper.recall1)];
}

export function vectorCells(e: Evaluation): string[] {
  return [
    String(e.transform.dims),
    SCORE_FORMULAS[e.transform.score].formula,
    pct(e.catalogue.p1),
    pct(e.catalogue.p10),
    pct(e.catalogue.map10),
    pct(e.catalogue.p10TypeColour),
    pct(e.shopper.recall1),
    pct(e.shopper.recall5),
    num(quantile(e.catalogue.topScores, 0.5), 3),
  ];
}

export function splitCells(e: Evaluation, l2: Evaluation): string[] {
  return [
    String(e.transform.dims),
    String(e.transform.dims * 4),
    pct(e.catalogue.p1),
    pct(e.catalogue.p10),
    signedPoints(e.catalogue.p10 - l2.catalogue.p10),
    pct(e.catalogue.map10),
    pct(e.shopper.recall1),
    signedPoints(e.shopper.recall1 - l2.shopper.recall1),
    pct(e.shopper.recall5),
  ];
}

export function scoreCells(e: Evaluation): string[] {
  const hidden = (threshold: number) => {
    const scores = e.catalogue.hitScores;
    let below = 0;
    for (const s of scores) if (s < threshold) below++;
    return `${pct(below / Math.max(1, scores.length))}%`;
  };
  return [
    SCORE_FORMULAS[e.transform.score].formula,
    num(quantile(e.catalogue.topScores, 0.5), 3),
    num(quantile(e.catalogue.hitScores, 0.05), 3),
    num(quantile(e.catalogue.hitScores, 0), 3),
    num(quantile(e.shopper.matchScores, 0.01), 3),
    hidden(0.5),
    hidden(0.7),
  ];
}
