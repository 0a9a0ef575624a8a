#!/bin/sh
# Test PKI for test_net, made fresh for each run with the openssl CLI:
#   ca.pem ca.key                 the CA the tests trust
#   server.pem server.key         "localhost" / 127.0.0.1, signed by that CA
#   wrong-ca.pem wrong-ca.key     an unrelated CA (must not verify the server)
# Usage: make-ca.sh DIR
set -eu
dir=${1:?usage: make-ca.sh DIR}
mkdir -p "$dir"
cd "$dir"

# Our own minimal configuration: nothing from the system's openssl.cnf.
cat > openssl.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

ca() { # name CN
	newkey "$1.key"
	openssl req -config openssl.cnf -new -x509 -key "$1.key" -subj "/CN=$2" \
	    -days 3 -sha256 -extensions ca_ext -out "$1.pem"
}

ca ca "Tremplin Test CA"
ca wrong-ca "Tremplin Wrong CA"

newkey server.key
openssl req -config openssl.cnf -new -key server.key -subj "/CN=localhost" -out server.csr
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile openssl.cnf -extensions server_ext -out server.pem 2>/dev/null
rm -f server.csr ca.srl
openssl verify -CAfile ca.pem server.pem >/dev/null
