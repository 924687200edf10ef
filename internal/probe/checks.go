package probe

// checks is the table of SPEC §8, in output order: handshake checks, then
// frame checks. Each id, RFC section and verdict rule is part of the
// contract; TestChecksMatchSpec compares this table with SPEC.md.
var checks = []*check{
	{id: "hs-baseline", group: "handshake", rfc: "RFC 6455 §4.2.2", run: hsBaseline},
	{id: "hs-version-unsupported", group: "handshake", rfc: "RFC 6455 §4.2.2 ¶4, §4.4", run: hsVersionUnsupported},
	{id: "hs-version-missing", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsVersionMissing},
	{id: "hs-key-missing", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsKeyMissing},
	{id: "hs-key-invalid", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsKeyInvalid},
	{id: "hs-upgrade-missing", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsUpgradeMissing},
	{id: "hs-connection-missing", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsConnectionMissing},
	{id: "hs-method", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsMethod},
	{id: "hs-http10", group: "handshake", rfc: "RFC 6455 §4.2.1", run: hsHTTP10},
	{id: "hs-host-missing", group: "handshake", rfc: "RFC 9112 §3.2", run: hsHostMissing},
	{id: "hs-token-case", group: "handshake", rfc: "RFC 6455 §4.2.1, RFC 9110 §7.8", run: hsTokenCase},
	{id: "hs-connection-list", group: "handshake", rfc: "RFC 9110 §7.6.1", run: hsConnectionList},
	{id: "hs-protocol-unknown", group: "handshake", rfc: "RFC 6455 §4.2.2", run: hsProtocolUnknown},
	{id: "hs-protocol-split", group: "handshake", rfc: "RFC 6455 §11.3.4", run: hsProtocolSplit},
	{id: "hs-extension-unknown", group: "handshake", rfc: "RFC 6455 §9.1", run: hsExtensionUnknown},
	{id: "hs-deflate", group: "handshake", rfc: "RFC 7692 §7.1", run: hsDeflate},
	{id: "hs-deflate-window", group: "handshake", rfc: "RFC 7692 §7.1.2", needs: []string{"fr-echo"}, run: hsDeflateWindow},
	{id: "hs-origin", group: "handshake", rfc: "RFC 6455 §10.2", run: hsOrigin},

	{id: "fr-echo", group: "frames", rfc: "", run: frEcho},
	{id: "fr-ping", group: "frames", rfc: "RFC 6455 §5.5.2–3", run: frPing},
	{id: "fr-ping-between-fragments", group: "frames", rfc: "RFC 6455 §5.4", needs: []string{"fr-echo"}, run: frPingBetweenFragments},
	{id: "fr-close", group: "frames", rfc: "RFC 6455 §5.5.1", run: frClose},
	{id: "fr-unmasked", group: "frames", rfc: "RFC 6455 §5.1", run: frUnmasked},
	{id: "fr-rsv", group: "frames", rfc: "RFC 6455 §5.2", run: frRSV},
	{id: "fr-opcode", group: "frames", rfc: "RFC 6455 §5.2", run: frOpcode},
	{id: "fr-control-long", group: "frames", rfc: "RFC 6455 §5.5", run: frControlLong},
	{id: "fr-control-fragmented", group: "frames", rfc: "RFC 6455 §5.5", run: frControlFragmented},
	{id: "fr-continuation", group: "frames", rfc: "RFC 6455 §5.4", run: frContinuation},
	{id: "fr-utf8", group: "frames", rfc: "RFC 6455 §8.1", run: frUTF8},
	{id: "fr-close-code", group: "frames", rfc: "RFC 6455 §7.4", run: frCloseCode},
	{id: "fr-close-short", group: "frames", rfc: "RFC 6455 §5.5.1", run: frCloseShort},
	{id: "fr-large", group: "frames", rfc: "", needs: []string{"fr-echo"}, run: frLarge},
	{id: "fr-deflate", group: "frames", rfc: "RFC 7692 §7.2", needs: []string{"fr-echo", "hs-deflate"}, run: frDeflate},
}
