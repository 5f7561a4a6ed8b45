// Puts and deletes as single upserts guarded by order tickets: a row changes only for a ticket at least as new as its
// own, so an older request never overwrites a newer one on any replica; a delete leaves a tombstone with its ticket.
import { EMBEDDINGS } from "./schema.ts";
import type { Statements } from "./statements.ts";
import { toVectorText } from "./vector-text.ts";

/** The pipeline and vector size every row written carries. */
export interface RowShape {
  dimensions: number;
  pipeline: string;
}

export function putRow(statements: Statements, shape: RowShape, id: number, vector: Float32Array, sequence: number): Promise<{ applied: boolean }> {
  return statements.run(async () => {
    const rows = await statements.query(
      `INSERT INTO ${EMBEDDINGS} AS stored (product_id, embedding, pipeline, sequence, updated_at)
       VALUES ($1, $2::vector(${shape.dimensions}), $3, $4, now())
       ON CONFLICT (product_id) DO UPDATE
         SET embedding = excluded.embedding, pipeline = excluded.pipeline, sequence = excluded.sequence, updated_at = excluded.updated_at
         WHERE stored.sequence <= excluded.sequence
       RETURNING 1`,
      [id, toVectorText(vector), shape.pipeline, sequence],
    );
    return { applied: rows.length > 0 };
  });
}

export function deleteRow(statements: Statements, shape: RowShape, id: number, sequence: number): Promise<{ applied: boolean; existed: boolean }> {
  return statements.run(async () => {
    const [row] = await statements.query(
      `WITH previous AS (SELECT embedding IS NOT NULL AS live FROM ${EMBEDDINGS} WHERE product_id = $1),
       written AS (
         INSERT INTO ${EMBEDDINGS} AS stored (product_id, embedding, pipeline, sequence, updated_at)
         VALUES ($1, NULL, $2, $3, now())
         ON CONFLICT (product_id) DO UPDATE
           SET embedding = NULL, sequence = excluded.sequence, updated_at = excluded.updated_at
           WHERE stored.sequence <= excluded.sequence
         RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM written) AS applied, coalesce((SELECT live FROM previous), false) AS existed`,
      [id, shape.pipeline, sequence],
    );
    return { applied: row!.applied as boolean, existed: row!.existed as boolean };
  });
}

/** Every applied change raises one row's ticket (tombstones stay), so the sum of tickets grows with each change. */
export function revisionOf(statements: Statements): Promise<string> {
  return statements.run(async () => {
    const [row] = await statements.query(`SELECT coalesce(sum(sequence), 0)::text || '/' || count(*) AS revision FROM ${EMBEDDINGS}`);
    return row!.revision as string;
  });
}
