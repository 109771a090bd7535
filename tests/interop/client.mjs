// Drives Cairn with @xapi/xapi, as an authoring tool would: statements with an attachment,
// a batch, filtered queries followed through `more`, and the attachment read back.
// Environment: CAIRN_ENDPOINT (…/xapi/), CAIRN_KEY, CAIRN_SECRET. Prints a JSON summary;
// exits non-zero on the first mismatch.
import XAPI from "@xapi/xapi";
import { randomUUID } from "node:crypto";

const xapi = new XAPI({
  endpoint: process.env.CAIRN_ENDPOINT,
  auth: XAPI.toBasicAuth(process.env.CAIRN_KEY, process.env.CAIRN_SECRET),
  version: "1.0.3",
  // The axios adapter lets axios replace the multipart Content-Type of attachment requests
  // in Node; fetch keeps the header the library sets.
  adapter: "fetch",
});

function check(condition, message) {
  if (!condition) {
    console.error("interop failure: " + message);
    process.exit(1);
  }
}

const run = randomUUID();
const actor = { objectType: "Agent", name: "Interop Learner", mbox: `mailto:${run}@example.com` };
const verb = { id: "http://adlnet.gov/expapi/verbs/experienced", display: { "en-US": "experienced" } };
const activity = `https://example.com/interop/${run}`;
const text = "certificate of completion — ✓";
const bytes = new TextEncoder().encode(text);
const sha2 = (await import("node:crypto")).createHash("sha256").update(bytes).digest("hex");

// One statement with an attachment sent as multipart/mixed by the library.
const withAttachment = {
  actor,
  verb,
  object: { objectType: "Activity", id: activity },
  attachments: [{
    usageType: "http://id.tincanapi.com/attachment/certificate-of-completion",
    display: { "en-US": "Certificate" },
    contentType: "text/plain",
    length: bytes.byteLength,
    sha2,
  }],
};
const sent = await xapi.sendStatement({ statement: withAttachment, attachments: [bytes.buffer] });
check(sent.data.length === 1, "sendStatement returns one id");
const attachmentId = sent.data[0];

// A batch of 24 more for the same agent and activity.
const batch = Array.from({ length: 24 }, (_, i) => ({
  actor,
  verb,
  object: { objectType: "Activity", id: activity },
  result: { score: { raw: i } },
}));
const ids = await xapi.sendStatements({ statements: batch });
check(ids.data.length === 24, "sendStatements returns 24 ids");

// Query with filters, 10 per page, following `more` to the end.
let page = await xapi.getStatements({ agent: actor, verb: verb.id, activity, limit: 10 });
const seen = [];
let pages = 0;
for (;;) {
  pages += 1;
  for (const s of page.data.statements) seen.push(s.id);
  if (!page.data.more) break;
  page = await xapi.getMoreStatements({ more: page.data.more });
}
check(seen.length === 25, `25 statements through more, got ${seen.length}`);
check(new Set(seen).size === 25, "no statement twice");
check(pages === 3, `3 pages of 10, got ${pages}`);
check(seen.includes(attachmentId) && ids.data.every((id) => seen.includes(id)), "every id seen");

// The attachment comes back with attachments=true.
const withParts = await xapi.getStatement({ statementId: attachmentId, attachments: true });
const parts = withParts.data;
check(Array.isArray(parts) && parts.length === 2, "statement and one attachment part");
check(parts[0].id === attachmentId, "first part is the statement");
const returned = typeof parts[1] === "string" ? parts[1] : new TextDecoder().decode(parts[1]);
check(returned === text, `attachment content round-trips, got ${JSON.stringify(returned)}`);

console.log(JSON.stringify({ statements: seen.length, pages, attachment: returned }));
