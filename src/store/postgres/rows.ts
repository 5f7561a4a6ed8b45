// Reads of single products and the paged list of live ones (tombstones, rows with no vector, are left out).
import { EMBEDDINGS } from "./schema.ts";
import type { Statements } from "./statements.ts";
import { fromVectorText } from "./vector-text.ts";

export function hasLive(statements: Statements, id: number): Promise<boolean> {
  return statements.run(async () => {
    const rows = await statements.query(`SELECT 1 FROM ${EMBEDDINGS} WHERE product_id = $1 AND embedding IS NOT NULL`, [id]);
    return rows.length > 0;
  });
}

export function liveVectorOf(statements: Statements, id: number): Promise<Float32Array | undefined> {
  return statements.run(async () => {
    const [row] = await statements.query(
      `SELECT embedding::text AS embedding FROM ${EMBEDDINGS} WHERE product_id = $1 AND embedding IS NOT NULL`,
      [id],
    );
    return row ? fromVectorText(row.embedding) : undefined;
  });
}

export function listLiveIds(statements: Statements, offset: number, limit: number): Promise<{ ids: number[]; total: number }> {
  return statements.run(async () => {
    const [row] = await statements.query(
      `SELECT (SELECT count(*) FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL)::float8 AS total,
              array(SELECT product_id::float8 FROM ${EMBEDDINGS} WHERE embedding IS NOT NULL
                    ORDER BY product_id OFFSET $1 LIMIT $2) AS ids`,
      [offset, limit],
    );
    return { ids: row!.ids as number[], total: row!.total as number };
  });
}
