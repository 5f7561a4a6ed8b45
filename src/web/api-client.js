// The service's public API as the page calls it: fetch with the session's API key, the JSON error envelope read into
// an ApiError, and the prompt for a key when the API answers 401 (kept in sessionStorage, for this tab only).

const KEY_STORAGE = "fip-api-key";

/** The page's elements by id (every module of the page uses it). */
export const $ = (id) => document.getElementById(id);

/** A failed call, with the API's code and message (or a readable one when the answer was not the API's envelope). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// ---- Talking to the API -------------------------------------------------------------------------------------------

export async function readError(response) {
  const retryAfter = response.headers.get("Retry-After");
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      return new ApiError(response.status, body.error.code, body.error.message, retryAfter);
    }
  } catch {
    // Not the API's JSON: a proxy's page, for instance.
  }
  const reason = response.statusText ? ` (${response.statusText})` : "";
  return new ApiError(response.status, "HTTP_ERROR", `The service answered ${response.status}${reason}.`, retryAfter);
}

/** Sends the session's API key, if any; on 401 asks for one (once for all calls waiting) and tries again. */
export async function api(path, init = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = new Headers(init.headers);
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let response;
    try {
      response = await fetch(path, { ...init, headers });
    } catch {
      throw new ApiError(0, "UNREACHABLE", "The service cannot be reached. Is it running? Retrying…");
    }
    if (response.ok) return response;
    const error = await readError(response);
    if (error.status === 401 && attempt < 3 && (await askForKey(key ? "That key was not accepted." : error.message))) continue;
    throw error;
  }
}

export async function apiJson(path, init) {
  return (await api(path, init)).json();
}

// ---- The API key, kept for this tab only ------------------------------------------------------------------------

let keyQuestion = null;

function askForKey(reason) {
  keyQuestion ??= new Promise((resolve) => {
    const dialog = $("key-dialog");
    const input = $("key-input");
    $("key-reason").textContent = `${reason} It is kept in this browser tab only, until you close it.`;
    input.value = "";
    const finish = (key) => {
      dialog.removeEventListener("close", onClose);
      $("key-cancel").removeEventListener("click", onCancel);
      if (dialog.open) dialog.close();
      if (key) sessionStorage.setItem(KEY_STORAGE, key);
      showForgetKey();
      keyQuestion = null;
      resolve(Boolean(key));
    };
    const onClose = () => finish(dialog.returnValue === "save" ? input.value.trim() : "");
    const onCancel = () => finish("");
    dialog.addEventListener("close", onClose);
    $("key-cancel").addEventListener("click", onCancel);
    dialog.showModal();
    input.focus();
  });
  return keyQuestion;
}

export function showForgetKey() {
  $("forget-key").hidden = sessionStorage.getItem(KEY_STORAGE) === null;
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
  showForgetKey();
}
