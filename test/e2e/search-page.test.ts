// The search page at / in a real browser (headless Chromium, playwright-core) against the real service process with
// the real model and a folder of real photos: upload a photo and see its own product first, click a result and see its
// neighbours (a URL per view, the back button), a refused file shows the API's message, the task panel reaches 100%,
// writes ask for the API key once, and the page fits a 390-px phone. Screenshots: FIP_UPDATE_SCREENSHOTS=1 writes
// docs/search-page-desktop.png and docs/search-page-phone.png.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { copyFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { createUnreadyApp } from "../helpers/app-under-test.ts";
import { CHROMIUM_REQUIRED, haveChromium, launchChromium, MISSING_CHROMIUM } from "../helpers/browser.ts";
import { REPO_ROOT } from "../helpers/catalog-server.ts";
import { requireModel, tempDir, waitFor } from "../helpers/environment.ts";
import { freePort, type ServiceProcess, startService } from "../helpers/service-process.ts";
import { catalogPhotos, writePhotoFolder } from "./e2e-fixtures.ts";

setDefaultTimeout(120_000);

/**
 * The little of the DOM that functions run in the page use; the tests compile without the DOM's types (they would
 * clash with Bun's), and the page's policy forbids evaluating strings, so these are real functions.
 */
interface PageElement {
  textContent: string | null;
  complete: boolean;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  dispatchEvent(event: unknown): boolean;
};
declare class DataTransfer {
  items: { add(file: unknown): void };
}
declare class ClipboardEvent {
  constructor(type: string, init: { clipboardData: DataTransfer; bubbles: boolean; cancelable: boolean });
}

const HAVE_CHROMIUM = haveChromium("the search page in a browser");
const HAVE_MODEL = requireModel("the search page in a browser");
const UPDATE_SCREENSHOTS = process.env.FIP_UPDATE_SCREENSHOTS === "1";
const API_KEY = "page-test-key-0123456789abcdef";

const photos = catalogPhotos(30);

if (CHROMIUM_REQUIRED && !HAVE_CHROMIUM) {
  test("Chromium is installed (CI=true)", () => {
    throw new Error(`CI=true but ${MISSING_CHROMIUM}; .ci/run installs it`);
  });
}

/** The product ids of the result cards, in order. */
async function resultIds(page: Page): Promise<number[]> {
  return page.$$eval("#results a[data-product-id]", (links) => links.map((link) => Number(link.getAttribute("data-product-id"))));
}

async function waitForFirstResult(page: Page, id: number): Promise<void> {
  await page.waitForFunction(
    (expected) => document.querySelector("#results a[data-product-id]")?.getAttribute("data-product-id") === expected,
    String(id),
    { timeout: 30_000 },
  );
}

describe.if(HAVE_CHROMIUM && HAVE_MODEL)("the search page, in Chromium, against the real service", () => {
  const cleanup = new AsyncDisposableStack();
  let service: ServiceProcess;
  let browser: Browser;
  let page: Page;
  let folder: string;
  /** Uncaught exceptions and unhandled rejections in the page's script, over every test. */
  const pageErrors: string[] = [];

  beforeAll(async () => {
    folder = cleanup.use(await tempDir("fip-page-photos-")).path;
    await writePhotoFolder(photos, folder);
    const dataDir = cleanup.use(await tempDir("fip-page-data-")).path;
    const port = freePort();
    service = cleanup.use(
      await startService({
        DATA_DIR: dataDir,
        CATALOG_DIR: folder,
        PORT: String(port),
        // Another origin than the page's (127.0.0.1): image_url is often a CDN, and the page's policy must let it show.
        PUBLIC_URL: `http://localhost:${port}`,
        // Writes need this key; reads stay open, so the page searches without asking.
        API_KEYS: API_KEY,
      }),
    );
    browser = await launchChromium();
    cleanup.defer(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on("pageerror", (error) => pageErrors.push(error.message));
  }, 120_000);

  afterAll(() => cleanup.disposeAsync(), 60_000);

  test("the task panel follows a catalogue walk to 100%, after asking once for the API key the write needs", async () => {
    await page.goto(`${service.url}/`);
    await expect(page.locator("#catalogue-count").textContent()).resolves.toMatch(/^(…|0 products indexed)$/);
    await page.getByRole("button", { name: "Embed the whole catalogue" }).click();
    // Writes need a key here: the page asks, then sends the write again with it.
    const dialog = page.getByRole("dialog", { name: "This service needs an API key" });
    await dialog.waitFor();
    await dialog.getByLabel("API key").fill(API_KEY);
    await dialog.getByRole("button", { name: "Use this key" }).click();

    const task = page.locator("#task-list li.task").first();
    await task.locator(".task-title", { hasText: "Embed the whole catalogue: succeeded" }).waitFor({ timeout: 90_000 });
    await expect(task.locator("progress").getAttribute("value")).resolves.toBe("100");
    await expect(task.locator(".task-progress").textContent()).resolves.toBe(
      `100% · ${photos.ids.length} done, 0 failed of ${photos.ids.length}`,
    );
    await page.waitForFunction(
      (expected) => document.querySelector("#catalogue-count")?.textContent === expected,
      `${photos.ids.length} products indexed`,
    );

    // The key is kept for the tab: the next write does not ask again (the walk already ran, so it answers 202 anew).
    await page.getByRole("button", { name: "Embed the whole catalogue" }).click();
    await page.locator("#task-list li.task").nth(1).waitFor();
    expect(await page.getByRole("dialog").isVisible()).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem("fip-api-key"))).toBe(API_KEY);
    const second = page.locator("#task-list li.task").first();
    await second.locator(".task-title", { hasText: "succeeded" }).waitFor({ timeout: 90_000 });
  });

  test("upload a photo: its own product comes first, scoring 1.000", async () => {
    const id = photos.ids[7]!;
    await page.goto(`${service.url}/`);
    await page.setInputFiles("#photo-input", join(folder, `${id}.jpg`));
    await waitForFirstResult(page, id);
    expect(await page.locator("#results .score").first().textContent()).toBe("1.000");
    expect(await resultIds(page)).toHaveLength(12);
    expect(await page.locator("#results-heading").textContent()).toBe("Looks like your photo");
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe("/");
  });

  test("click a result: its own neighbours, at a URL of its own; back returns to the photo's results", async () => {
    const uploaded = photos.ids[7]!;
    const before = await resultIds(page);
    expect(before[0]).toBe(uploaded);
    const clicked = before[1]!;
    await page.locator(`#results a[data-product-id="${clicked}"]`).click();
    await waitForFirstResult(page, clicked);
    expect(page.url()).toBe(`${service.url}/?product=${clicked}`);
    expect(await page.locator("#results-heading").textContent()).toBe(`Looks like product ${clicked}`);
    const neighbours = await resultIds(page);
    const fromApi = await service.json(`/similar-products/${clicked}?top_n=12`);
    expect(neighbours).toEqual(fromApi.body.similar_products.map((product: { id: number }) => product.id));

    await page.goBack();
    await waitForFirstResult(page, uploaded);
    expect(page.url()).toBe(`${service.url}/`);
    expect(await page.locator("#results-heading").textContent()).toBe("Looks like your photo");

    await page.goForward();
    await waitForFirstResult(page, clicked);
    expect(page.url()).toBe(`${service.url}/?product=${clicked}`);
  });

  test("a shared URL opens its view; the product id box and the options work from the keyboard", async () => {
    const id = photos.ids[3]!;
    await page.goto(`${service.url}/?product=${id}&top_n=4`);
    await waitForFirstResult(page, id);
    expect(await resultIds(page)).toHaveLength(4);
    expect(await page.getByLabel("Results").inputValue()).toBe("4");

    const other = photos.ids[11]!;
    await page.getByLabel("Product id").fill(String(other));
    await page.getByLabel("Product id").press("Enter");
    await waitForFirstResult(page, other);
    expect(page.url()).toBe(`${service.url}/?product=${other}&top_n=4`);

    // A threshold of 1 keeps only the identical photo.
    await page.getByLabel("Minimum score").fill("1");
    await page.waitForFunction(() => document.querySelectorAll("#results a[data-product-id]").length === 1);
    expect(page.url()).toBe(`${service.url}/?product=${other}&top_n=4&min=1`);
  });

  test("a file that is not a photo shows the API's own message", async () => {
    await page.goto(`${service.url}/`);
    const text = "not a photo, just some notes";
    const form = new FormData();
    form.append("image", new File([text], "notes.txt", { type: "text/plain" }));
    const direct = await service.json("/similar-products/upload", { method: "POST", body: form });
    expect(direct.status).toBe(415);

    await page.setInputFiles("#photo-input", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from(text) });
    const message = page.getByRole("alert");
    await message.waitFor();
    expect(await message.textContent()).toBe(direct.body.error.message);
  });

  test("a photo dropped on the page, or pasted, is searched with like a picked one", async () => {
    const dropped = photos.ids[5]!;
    const pasted = photos.ids[9]!;
    const transferOf = async (id: number) =>
      page.evaluateHandle(
        ([bytes, name]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(bytes)], name, { type: "image/jpeg" }));
          return transfer;
        },
        [[...(await photos.bytes(id))], `${id}.jpg`] as const,
      );
    await page.goto(`${service.url}/`);
    await page.dispatchEvent("#drop-zone", "drop", { dataTransfer: await transferOf(dropped) });
    await waitForFirstResult(page, dropped);

    const clipboard = await transferOf(pasted);
    await page.evaluate(
      (clipboardData) => document.dispatchEvent(new ClipboardEvent("paste", { clipboardData, bubbles: true, cancelable: true })),
      clipboard,
    );
    await waitForFirstResult(page, pasted);
  });

  test("fits a 390-px phone: no sideways scrolling, the camera button offered, every control labelled", async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 1,
      isMobile: true,
      hasTouch: true,
    });
    const phonePage = await phone.newPage();
    const id = photos.ids[7]!;
    await phonePage.goto(`${service.url}/?product=${id}&top_n=6`);
    await waitForFirstResult(phonePage, id);
    expect(await phonePage.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    expect(await phonePage.getByText("Take a photo").isVisible()).toBe(true);
    expect(await phonePage.locator("#camera-input").getAttribute("capture")).toBe("environment");
    const unlabelled = await phonePage.evaluate(
      `[...document.querySelectorAll("input, select, textarea")].filter((field) => field.labels.length === 0).map((field) => field.id)`,
    );
    expect(unlabelled).toEqual([]);
    await phonePage.waitForFunction(() => Array.from(document.querySelectorAll("#results img")).every((image) => image.complete));
    const phoneShot = await phonePage.screenshot({ fullPage: false });
    expect(phoneShot.byteLength).toBeGreaterThan(1000);
    if (UPDATE_SCREENSHOTS) await Bun.write(join(REPO_ROOT, "docs/search-page-phone.png"), phoneShot);
    await phone.close();

    // Two columns start at 960 px; a narrow desktop keeps the screenshot small.
    await page.setViewportSize({ width: 1024, height: 720 });
    await page.goto(`${service.url}/?product=${id}`);
    await waitForFirstResult(page, id);
    await page.waitForFunction(() => Array.from(document.querySelectorAll("#results img")).every((image) => image.complete));
    // Shown from image_url itself, not from the page's same-origin fallback.
    const sources = await page.$$eval("#results img", (images) => images.map((image) => image.getAttribute("src")));
    expect(sources).toEqual((await resultIds(page)).map((shown) => `http://localhost:${service.port}/products/${shown}/image`));
    expect(await page.evaluate(`[...document.querySelectorAll("#results img")].every((image) => image.naturalWidth > 0)`)).toBe(true);
    const desktopShot = await page.screenshot({ fullPage: false });
    if (UPDATE_SCREENSHOTS) await Bun.write(join(REPO_ROOT, "docs/search-page-desktop.png"), desktopShot);
  });

  test("near-duplicates: a photo stored again under another product id is shown as a group of the two", async () => {
    const original = photos.ids[2]!;
    const copy = 990_001;
    await copyFile(join(folder, `${original}.jpg`), join(folder, `${copy}.jpg`));
    const posted = await service.json(`/embeddings/product/${copy}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${API_KEY}` },
    });
    expect(posted.status).toBe(202);
    await waitFor(
      async () => {
        const task = await service.json(`/tasks/${posted.body.task_id}`);
        return task.body.status === "queued" || task.body.status === "running" ? undefined : task.body.status;
      },
      { what: "the copy to be embedded" },
    ).then((status) => expect(status).toBe("succeeded"));

    await page.goto(`${service.url}/`);
    await page.getByRole("button", { name: "Find near-duplicates" }).click();
    const group = page.locator("#duplicate-groups li", { hasText: `#${copy}` });
    await group.waitFor({ timeout: 30_000 });
    expect(await group.locator("a").allTextContents()).toContain(`#${original}`);
    expect(await group.locator(".task-title").textContent()).toMatch(/^\d+ products, lowest score 1\.000$/);
    await group.getByRole("link", { name: `#${copy}` }).click();
    await page.waitForURL(`${service.url}/?product=${copy}`);
  });

  test("the page's script threw nothing along the way", () => {
    expect(pageErrors).toEqual([]);
  });
});

describe.if(HAVE_CHROMIUM)("the search page while the service is loading", () => {
  test("says so in words rather than showing a blank page", async () => {
    const app = createUnreadyApp();
    await using server = Object.assign(Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: app.fetch }), {
      [Symbol.asyncDispose]: async () => server.stop(true),
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(server.url.href);
      const banner = page.locator("#service-banner");
      await banner.waitFor();
      expect(await banner.textContent()).toBe(
        "The service is starting: it is loading the model and the index. This page carries on by itself when it is ready.",
      );
      expect(await page.locator("#results-heading").textContent()).toBe("Find products that look alike");
    } finally {
      await browser.close();
    }
  });
});
