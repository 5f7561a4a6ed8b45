// The outbound URL policy as a pure function of the URL, the allowed origins and an injected resolver: no test here
// opens a connection or asks a real DNS server, whatever the code under test does.
import { describe, expect, test } from "bun:test";
import { isNeverFetched, OutboundPolicy, pinnedUrl, type ResolveHost } from "../../src/catalog/outbound-policy.ts";

/** Answers from a fixed table and counts the questions; a name not in the table fails the way a lookup does. */
function fakeResolver(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolveHost: ResolveHost = async (hostname) => {
    asked.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: "ENOTFOUND" });
    return addresses;
  };
  return { resolveHost, asked };
}

const NEVER = "a link-local, metadata or unspecified address";

describe("isNeverFetched", () => {
  test.each([
    ["169.254.169.254", true],
    ["169.254.0.0", true],
    ["169.254.255.255", true],
    ["169.253.255.255", false],
    ["169.255.0.0", false],
    ["0.0.0.0", true],
    ["0.255.255.255", true],
    ["1.0.0.0", false],
    ["100.100.100.200", true],
    ["127.0.0.1", false],
    ["10.1.2.3", false],
    ["192.168.1.1", false],
    ["fe80::1", true],
    ["fe80::", true],
    ["febf:ffff::1", true],
    ["fec0::1", false],
    ["fd00:ec2::254", true],
    ["fd00:ec2:0:0:0:0:0:254", true],
    ["fd00:ec2::253", false],
    ["::", true],
    ["0:0:0:0:0:0:0:0", true],
    ["::1", false],
    ["::ffff:169.254.169.254", true],
    ["::ffff:a9fe:a9fe", true],
    ["::ffff:0.0.0.0", true],
    ["::ffff:127.0.0.1", false],
    ["64:ff9b::169.254.169.254", true],
    ["64:ff9b::a9fe:a9fe", true],
    ["64:ff9b::7f00:1", false],
    ["2001:db8::1", false],
    ["shop.example", false],
    ["", false],
  ])("%s -> %p", (address, expected) => {
    expect(isNeverFetched(address)).toBe(expected);
  });
});

describe("OutboundPolicy", () => {
  const allowedOrigins = ["http://shop.test", "https://cdn.shop.test"];

  test("allows the listed origins over http(s), connecting to the address the name resolved to", async () => {
    const { resolveHost, asked } = fakeResolver({
      "shop.test": ["203.0.113.10", "2001:db8::10"],
      "cdn.shop.test": ["203.0.113.20"],
    });
    const policy = new OutboundPolicy({ allowedOrigins, resolveHost });

    expect(await policy.check(new URL("http://shop.test/api/products?page=2"))).toEqual({
      allowed: true,
      url: new URL("http://shop.test/api/products?page=2"),
      addresses: ["203.0.113.10", "2001:db8::10"],
    });
    expect(await policy.check(new URL("https://cdn.shop.test/p/1.jpg"))).toEqual({
      allowed: true,
      url: new URL("https://cdn.shop.test/p/1.jpg"),
      addresses: ["203.0.113.20"],
    });
    expect(asked).toEqual(["shop.test", "cdn.shop.test"]);
  });

  test.each([
    ["file:///etc/passwd", "file: URLs are never fetched, only http and https"],
    ["data:image/png;base64,iVBORw0KGgo=", "data: URLs are never fetched, only http and https"],
    ["ftp://shop.test/1.jpg", "ftp: URLs are never fetched, only http and https"],
    ["javascript:alert(1)", "javascript: URLs are never fetched, only http and https"],
    ["http://other.test/1.jpg", "http://other.test is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS"],
    ["https://shop.test/1.jpg", "https://shop.test is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS"],
    ["http://shop.test:8080/1.jpg", "http://shop.test:8080 is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS"],
    ["http://cdn.shop.test/1.jpg", "http://cdn.shop.test is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS"],
    ["http://169.254.169.254/latest/meta-data/", "http://169.254.169.254 is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS"],
  ])("refuses %s without asking DNS", async (url, reason) => {
    const { resolveHost, asked } = fakeResolver({ "shop.test": ["203.0.113.10"], "other.test": ["203.0.113.30"] });
    const policy = new OutboundPolicy({ allowedOrigins, resolveHost });

    expect(await policy.check(new URL(url))).toEqual({ allowed: false, reason });
    expect(asked).toEqual([]);
  });

  test.each([
    ["http://169.254.169.254/latest/meta-data/", "169.254.169.254"],
    ["http://2852039166/latest/meta-data/", "169.254.169.254"],
    ["http://169.254.169.254./latest/", "169.254.169.254"],
    ["http://[fe80::1]/", "fe80::1"],
    ["http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"],
    ["http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:a9fe:a9fe"],
    ["http://0.0.0.0:8080/1.jpg", "0.0.0.0"],
    ["http://0/1.jpg", "0.0.0.0"],
    ["http://[::]/1.jpg", "::"],
  ])("refuses %s even when its origin is allowed", async (url, address) => {
    const { resolveHost, asked } = fakeResolver({});
    const policy = new OutboundPolicy({ allowedOrigins: [new URL(url).origin], resolveHost });

    expect(await policy.check(new URL(url))).toEqual({ allowed: false, reason: `${address} is ${NEVER}` });
    expect(asked).toEqual([]);
  });

  test.each([
    [["169.254.169.254"], "169.254.169.254"],
    [["203.0.113.10", "fe80::1"], "fe80::1"],
    [["fd00:ec2::254"], "fd00:ec2::254"],
    [["::ffff:169.254.169.254"], "::ffff:169.254.169.254"],
    [["0.0.0.0"], "0.0.0.0"],
  ])("refuses an allowed host name that resolves to %p", async (addresses, blocked) => {
    const { resolveHost } = fakeResolver({ "images.shop.test": addresses });
    const policy = new OutboundPolicy({ allowedOrigins: ["http://images.shop.test"], resolveHost });

    expect(await policy.check(new URL("http://images.shop.test/1.jpg"))).toEqual({
      allowed: false,
      reason: `its host name resolves to ${blocked}, ${NEVER}`,
    });
  });

  test("an IP literal is not looked up; a failed or empty lookup rejects (the caller treats it as transient)", async () => {
    const { resolveHost, asked } = fakeResolver({ "empty.test": [] });
    const policy = new OutboundPolicy({
      allowedOrigins: ["http://127.0.0.1:9000", "http://[::1]:9000", "http://gone.test", "http://empty.test"],
      resolveHost,
    });

    expect(await policy.check(new URL("http://127.0.0.1:9000/a"))).toEqual({
      allowed: true,
      url: new URL("http://127.0.0.1:9000/a"),
      addresses: ["127.0.0.1"],
    });
    expect(await policy.check(new URL("http://[::1]:9000/a"))).toMatchObject({ allowed: true, addresses: ["::1"] });
    expect(asked).toEqual([]);
    await expect(policy.check(new URL("http://gone.test/a"))).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(policy.check(new URL("http://empty.test/a"))).rejects.toMatchObject({ code: "ENOTFOUND" });
  });
});

describe("pinnedUrl", () => {
  test("puts the checked address in place of the host name, so the connection goes where the check looked", () => {
    expect(pinnedUrl(new URL("http://shop.test:8080/api/products?page=2"), "203.0.113.10")).toBe(
      "http://203.0.113.10:8080/api/products?page=2",
    );
    expect(pinnedUrl(new URL("http://shop.test/1.jpg"), "2001:db8::10")).toBe("http://[2001:db8::10]/1.jpg");
  });
});
