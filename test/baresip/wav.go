package baresip

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
)

// SampleRate is the rate of the tone WriteTone writes and of PCMU.
const SampleRate = 8000

// FrameSamples is one 20 ms packet of 8 kHz audio.
const FrameSamples = SampleRate / 50

// WriteTone writes a WAV file (PCM 16-bit, mono, 8 kHz) holding a sine of
// hz at half of full scale for the given seconds: what aufile plays.
func WriteTone(path string, hz float64, seconds int) error {
	n := SampleRate * seconds
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(16000 * math.Sin(2*math.Pi*hz*float64(i)/SampleRate))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)           // fmt chunk size
	binary.LittleEndian.PutUint16(h[20:], 1)            // PCM
	binary.LittleEndian.PutUint16(h[22:], 1)            // mono
	binary.LittleEndian.PutUint32(h[24:], SampleRate)   // sample rate
	binary.LittleEndian.PutUint32(h[28:], SampleRate*2) // byte rate
	binary.LittleEndian.PutUint16(h[32:], 2)            // block align
	binary.LittleEndian.PutUint16(h[34:], 16)           // bits per sample
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	if err := os.WriteFile(path, append(h, data...), 0o644); err != nil {
		return fmt.Errorf("baresip: write tone: %w", err)
	}
	return nil
}

// Recording is the decoded audio of a WAV file written by baresip's
// sndfile filter.
type Recording struct {
	Rate, Channels int
	Samples        []int16
	// Complete says the header gives the data chunk's size: libsndfile
	// writes 0 there until it closes the file (the call ended).
	Complete bool
}

// ErrNotWAV is returned by ReadWAV for a file that is not 16-bit PCM WAV.
var ErrNotWAV = errors.New("baresip: not a 16-bit PCM WAV file")

// ReadWAV reads a 16-bit PCM WAV file. The data chunk runs to the end of
// the file whatever its header says, so a file still being written (its
// sizes not yet patched by libsndfile) reads as far as it goes.
func ReadWAV(path string) (Recording, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Recording{}, fmt.Errorf("baresip: %w", err)
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return Recording{}, fmt.Errorf("%w: %s: no RIFF/WAVE header", ErrNotWAV, path)
	}
	var rec Recording
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if len(body) < 16 || binary.LittleEndian.Uint16(body[0:]) != 1 || binary.LittleEndian.Uint16(body[14:]) != 16 {
				return Recording{}, fmt.Errorf("%w: %s: fmt chunk is not 16-bit PCM", ErrNotWAV, path)
			}
			rec.Channels = int(binary.LittleEndian.Uint16(body[2:]))
			rec.Rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			if rec.Rate == 0 {
				return Recording{}, fmt.Errorf("%w: %s: data before fmt", ErrNotWAV, path)
			}
			if rec.Complete = size > 0 && size <= len(body); rec.Complete {
				body = body[:size]
			}
			rec.Samples = make([]int16, len(body)/2)
			for i := range rec.Samples {
				rec.Samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rec, nil
		}
		off += 8 + size + size%2
	}
	return Recording{}, fmt.Errorf("%w: %s: no data chunk", ErrNotWAV, path)
}

// LoudFrames counts the 20 ms frames (FrameSamples per channel) holding at
// least one sample whose magnitude reaches level: the frames that carried
// sound rather than silence.
func (r Recording) LoudFrames(level int) int {
	per := FrameSamples * max(r.Channels, 1) * max(r.Rate, 1) / SampleRate
	n := 0
	for start := 0; start < len(r.Samples); start += per {
		end := min(start+per, len(r.Samples))
		for _, s := range r.Samples[start:end] {
			if abs(int(s)) >= level {
				n++
				break
			}
		}
	}
	return n
}

// Frames returns the number of 20 ms frames in the recording.
func (r Recording) Frames() int {
	per := FrameSamples * max(r.Channels, 1) * max(r.Rate, 1) / SampleRate
	return (len(r.Samples) + per - 1) / per
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
