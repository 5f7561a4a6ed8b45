// Where product photos come from: a shop's products API or a local folder. The rest of the service sees only this.

export interface CatalogPage {
  /** Product ids on this page, in the catalogue's order. */
  productIds: number[];
  /** The last page as the catalogue sees it; a walk counts its pages itself rather than trusting the catalogue. */
  lastPage: number;
  /** Products in the whole catalogue. */
  total: number;
  /**
   * Where the page says a product's photo is, for the products it says so for: fetching the photo then needs no
   * request for the product's record.
   */
  imageUrls?: ReadonlyMap<number, string>;
}

export interface Catalog {
  /**
   * The bytes of the product's photo. Throws AppError PRODUCT_NOT_FOUND (404) when the catalogue does not know the
   * product or has no photo for it, CATALOG_UNAVAILABLE (502) when it could not be reached after retries,
   * OUTBOUND_URL_REFUSED (502) when the photo's URL (or a redirect) points where the service does not fetch from.
   * `listedImageUrl` is the photo's address from a list page (CatalogPage.imageUrls), checked like any other.
   */
  fetchImage(productId: number, signal?: AbortSignal, listedImageUrl?: string): Promise<Uint8Array>;
  /** One page (1-based) of the catalogue's products; a page past the end has no ids. */
  listPage(page: number, signal?: AbortSignal): Promise<CatalogPage>;
}
