// Verify an OpenBadgeCredential VC-JWT with jose (a library nobody here wrote):
//   node verify_badge.js JWKS_JSON JWT ISSUER
// prints {"ok": true, "payload": {...}} or {"ok": false, "code": "..."}; exit 0 either way.
const jose = require("jose");

async function main() {
  const [jwks, jwt, issuer] = process.argv.slice(2);
  const keys = jose.createLocalJWKSet(JSON.parse(jwks));
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(jwt, keys, {
      issuer, algorithms: ["EdDSA"], typ: "JWT",
    });
    console.log(JSON.stringify({ ok: true, payload, header: protectedHeader }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, code: e.code || String(e) }));
  }
}
main();
