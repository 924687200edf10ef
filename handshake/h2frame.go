package handshake

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
)

// H2Frame is one HTTP/2 frame as it crossed the wire, for the transcript,
// -v and the JSON document (SPEC §10): its direction, type, flags, stream
// and payload length (RFC 9113 §4.1), and a short summary of its payload
// (the settings, the error code, the window increment). The payload itself
// is not kept.
type H2Frame struct {
	Out    bool   // written by wsdbg
	Type   string // "SETTINGS", "HEADERS", ...; "UNKNOWN_0xNN" for an unknown type
	Flags  []string
	Stream uint32
	Length int
	// Detail summarises the payload: "ENABLE_CONNECT_PROTOCOL=1", ":status=200",
	// "PROTOCOL_ERROR", "increment=983041"; escaped when printed.
	Detail string
	// Fields are the decoded fields of a header block, on the frame that
	// ends it (END_HEADERS); nil otherwise.
	Fields []H2Field
}

// String formats the frame as the transcript shows it, without the
// direction marker: "SETTINGS stream=0 length=6 ENABLE_CONNECT_PROTOCOL=1".
func (f H2Frame) String() string {
	var b strings.Builder
	b.WriteString(f.Type)
	b.WriteString(" stream=")
	b.WriteString(strconv.FormatUint(uint64(f.Stream), 10))
	if len(f.Flags) > 0 {
		b.WriteByte(' ')
		b.WriteString(strings.Join(f.Flags, "|"))
	}
	b.WriteString(" length=")
	b.WriteString(strconv.Itoa(f.Length))
	if f.Detail != "" {
		b.WriteByte(' ')
		b.WriteString(f.Detail)
	}
	return b.String()
}

// frameFlags names the flags set in fl for a frame of type t (RFC 9113 §6).
func frameFlags(t http2.FrameType, fl http2.Flags) []string {
	var names []string
	add := func(bit http2.Flags, name string) {
		if fl&bit != 0 {
			names = append(names, name)
			fl &^= bit
		}
	}
	switch t {
	case http2.FrameData:
		add(http2.FlagDataEndStream, "END_STREAM")
		add(http2.FlagDataPadded, "PADDED")
	case http2.FrameHeaders:
		add(http2.FlagHeadersEndStream, "END_STREAM")
		add(http2.FlagHeadersEndHeaders, "END_HEADERS")
		add(http2.FlagHeadersPadded, "PADDED")
		add(http2.FlagHeadersPriority, "PRIORITY")
	case http2.FrameSettings:
		add(http2.FlagSettingsAck, "ACK")
	case http2.FramePing:
		add(http2.FlagPingAck, "ACK")
	case http2.FrameContinuation:
		add(http2.FlagContinuationEndHeaders, "END_HEADERS")
	case http2.FramePushPromise:
		add(http2.FlagPushPromiseEndHeaders, "END_HEADERS")
		add(http2.FlagPushPromisePadded, "PADDED")
	}
	if fl != 0 {
		names = append(names, fmt.Sprintf("0x%02x", uint8(fl)))
	}
	return names
}

// frameType names t, including types unknown to RFC 9113 (which a receiver
// ignores, §4.1).
func frameType(t http2.FrameType) string {
	if int(t) < len(h2FrameTypes) {
		return h2FrameTypes[t]
	}
	return fmt.Sprintf("UNKNOWN_0x%02x", uint8(t))
}

// settingName names a setting identifier, those of RFC 9113 §6.5.2 and
// RFC 8441 §3 (ENABLE_CONNECT_PROTOCOL, 0x8) included.
func settingName(id http2.SettingID) string {
	switch id {
	case http2.SettingHeaderTableSize:
		return "HEADER_TABLE_SIZE"
	case http2.SettingEnablePush:
		return "ENABLE_PUSH"
	case http2.SettingMaxConcurrentStreams:
		return "MAX_CONCURRENT_STREAMS"
	case http2.SettingInitialWindowSize:
		return "INITIAL_WINDOW_SIZE"
	case http2.SettingMaxFrameSize:
		return "MAX_FRAME_SIZE"
	case http2.SettingMaxHeaderListSize:
		return "MAX_HEADER_LIST_SIZE"
	case settingEnableConnectProtocol:
		return "ENABLE_CONNECT_PROTOCOL"
	case 0x9:
		return "NO_RFC7540_PRIORITIES"
	}
	return fmt.Sprintf("0x%x", uint16(id))
}

// settingEnableConnectProtocol is SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441
// §3, §9.1).
const settingEnableConnectProtocol http2.SettingID = 0x8

// ErrCodeName names an HTTP/2 error code (RFC 9113 §7), "0xNN" when unknown.
func ErrCodeName(code uint32) string {
	s := http2.ErrCode(code).String()
	if strings.HasPrefix(s, "unknown error code") {
		return fmt.Sprintf("0x%x", code)
	}
	return s
}

// settingsDetail lists the settings of a SETTINGS frame, "ID=value" each.
func settingsDetail(f *http2.SettingsFrame) string {
	var parts []string
	_ = f.ForeachSetting(func(s http2.Setting) error {
		parts = append(parts, settingName(s.ID)+"="+strconv.FormatUint(uint64(s.Val), 10))
		return nil
	})
	return strings.Join(parts, " ")
}

// describeFrame makes the log record of a frame read or written. HEADERS
// and CONTINUATION details are filled in by the caller, which decodes the
// header block.
func describeFrame(out bool, fr http2.Frame) H2Frame {
	h := fr.Header()
	rec := H2Frame{Out: out, Type: frameType(h.Type), Flags: frameFlags(h.Type, h.Flags), Stream: h.StreamID, Length: int(h.Length)}
	switch f := fr.(type) {
	case *http2.SettingsFrame:
		rec.Detail = settingsDetail(f)
	case *http2.WindowUpdateFrame:
		rec.Detail = "increment=" + strconv.FormatUint(uint64(f.Increment), 10)
	case *http2.PingFrame:
		rec.Detail = fmt.Sprintf("data=%x", f.Data[:])
	case *http2.RSTStreamFrame:
		rec.Detail = ErrCodeName(uint32(f.ErrCode))
	case *http2.GoAwayFrame:
		rec.Detail = fmt.Sprintf("last_stream=%d %s", f.LastStreamID, ErrCodeName(uint32(f.ErrCode)))
		if d := f.DebugData(); len(d) > 0 {
			rec.Detail += " debug=" + strconv.Quote(string(d[:min(len(d), 256)]))
		}
	}
	return rec
}
