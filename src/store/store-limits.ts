// Limits of the store that the HTTP layer validates against, in a module of their own so that importing them does not
// load the store (and its native addon) into the route definitions.

/** Product ids are stored as unsigned 32-bit integers; the API takes positive signed ones. */
export const MAX_PRODUCT_ID = 2 ** 31 - 1;
