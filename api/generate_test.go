package api_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsFresh regenerates api/mcu/v1 with protoc and the
// plugins pinned in go.mod and fails if the committed code differs: run
// `make proto` after editing the .proto.
func TestGeneratedCodeIsFresh(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Fatal("protoc not found: run `make deps-test` (Debian protobuf-compiler)")
	}
	tmp := t.TempDir()
	for _, plugin := range []string{"google.golang.org/protobuf/cmd/protoc-gen-go", "google.golang.org/grpc/cmd/protoc-gen-go-grpc"} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(tmp, filepath.Base(plugin)), plugin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %s: %v\n%s", plugin, err, out)
		}
	}
	out := filepath.Join(tmp, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(protoc,
		"--plugin=protoc-gen-go="+filepath.Join(tmp, "protoc-gen-go"),
		"--plugin=protoc-gen-go-grpc="+filepath.Join(tmp, "protoc-gen-go-grpc"),
		"--go_out="+out, "--go_opt=paths=source_relative",
		"--go-grpc_out="+out, "--go-grpc_opt=paths=source_relative",
		"api/mcu/v1/mcu.proto")
	cmd.Dir = ".."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	for _, f := range []string{"mcu.pb.go", "mcu_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, "api/mcu/v1", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("mcu/v1", f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("api/mcu/v1/%s is stale: run `make proto`", f)
		}
	}
}
