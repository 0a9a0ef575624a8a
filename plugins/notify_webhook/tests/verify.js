// Verify recorded deliveries with the standardwebhooks library (not ours).
// stdin: {"secret": "whsec_...", "now": seconds or null, "deliveries": [{headers, body}]}
// stdout: one line per delivery, "ok" or the library's error.
const { Webhook } = require("standardwebhooks");
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  // The daemon may run on the test clock: the library checks the timestamp
  // against its own clock, which then reads the daemon's time.
  if (job.now !== null) Date.now = () => job.now * 1000;
  const wh = new Webhook(job.secret);
  for (const d of job.deliveries) {
    try {
      wh.verify(d.body, d.headers);
      console.log("ok");
    } catch (e) {
      console.log("refused: " + e.message);
    }
  }
});
