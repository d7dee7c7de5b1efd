package baresip

import (
	"os"
	"path/filepath"
	"testing"
)

func TestToneRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	if err := WriteTone(path, 440, 2); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Rate != SampleRate || rec.Channels != 1 || !rec.Complete || len(rec.Samples) != 2*SampleRate {
		t.Fatalf("read %d Hz %d ch complete=%v %d samples, want %d Hz mono complete %d samples", rec.Rate, rec.Channels, rec.Complete, len(rec.Samples), SampleRate, 2*SampleRate)
	}
	if got := rec.Frames(); got != 100 {
		t.Errorf("Frames() = %d, want 100", got)
	}
	if got := rec.LoudFrames(1000); got != 100 {
		t.Errorf("LoudFrames(1000) = %d, want 100 (a 440 Hz sine at half scale)", got)
	}
}

func TestReadWAVStillOpen(t *testing.T) {
	// libsndfile leaves the data size 0 until it closes the file.
	path := filepath.Join(t.TempDir(), "open.wav")
	if err := WriteTone(path, 440, 1); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[40:44], []byte{0, 0, 0, 0})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Complete || len(rec.Samples) != SampleRate {
		t.Errorf("complete=%v, %d samples; want incomplete with all %d samples", rec.Complete, len(rec.Samples), SampleRate)
	}
}

func TestReadWAVRejects(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.wav")
	if err := os.WriteFile(path, []byte("not a wav file at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWAV(path); err == nil {
		t.Error("ReadWAV accepted a file that is not WAV")
	}
}
