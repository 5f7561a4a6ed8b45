// Picks the catalogue the configuration names: the shop's products API or a local folder of photos.
import type { CatalogConfig, Config } from "../config.ts";
import type { Catalog } from "./catalog.ts";
import { FolderCatalog } from "./folder-catalog.ts";
import { HttpCatalog } from "./http-catalog.ts";

export function createCatalog(config: CatalogConfig, http: Config["catalogHttp"]): Catalog {
  if (config.kind === "folder") return new FolderCatalog({ dir: config.dir });
  return new HttpCatalog({ baseUrl: config.baseUrl, token: config.token, ...http });
}
