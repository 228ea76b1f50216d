package api_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: every
// gRPC server and client, room manager and event stream must have been
// shut down.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
