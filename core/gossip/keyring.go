package gossip

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// keyring holds the gossip encryption keys: the primary encrypts, all of
// them decrypt. It is persisted as a JSON list of base64 keys, primary
// first, so rotations survive restarts.
type keyring struct {
	mu     sync.Mutex
	file   string
	ml     *memberlist.Keyring
	logger hclog.Logger
}

// loadKeyring prefers a persisted keyring over the configured key, as
// rotations since the first start live there.
func loadKeyring(file string, configured [][]byte, logger hclog.Logger) (*keyring, error) {
	k := &keyring{file: file, logger: logger}
	keys := configured
	if file != "" {
		b, err := os.ReadFile(file)
		switch {
		case err == nil:
			var enc []string
			if err := json.Unmarshal(b, &enc); err != nil {
				return nil, fmt.Errorf("keyring file %s: %w", file, err)
			}
			var fromFile [][]byte
			for _, e := range enc {
				key, err := base64.StdEncoding.DecodeString(e)
				if err != nil {
					return nil, fmt.Errorf("keyring file %s: %w", file, err)
				}
				fromFile = append(fromFile, key)
			}
			if len(configured) > 0 && len(fromFile) > 0 {
				logger.Info("using the keyring file; the configured encrypt key only matters on a first start", "file", file)
			}
			if len(fromFile) > 0 {
				keys = fromFile
			}
		case !os.IsNotExist(err):
			return nil, fmt.Errorf("keyring file: %w", err)
		}
	}
	if len(keys) == 0 {
		return k, nil
	}
	ml, err := memberlist.NewKeyring(keys, keys[0])
	if err != nil {
		return nil, fmt.Errorf("gossip encryption key: %w", err)
	}
	k.ml = ml
	return k, k.save()
}

func (k *keyring) memberlistKeyring() *memberlist.Keyring { return k.ml }

func (k *keyring) encrypted() bool { return k.ml != nil }

func (k *keyring) save() error {
	if k.file == "" || k.ml == nil {
		return nil
	}
	var enc []string
	for _, key := range k.ml.GetKeys() {
		enc = append(enc, base64.StdEncoding.EncodeToString(key))
	}
	b, _ := json.Marshal(enc)
	if err := os.MkdirAll(filepath.Dir(k.file), 0o700); err != nil {
		return err
	}
	tmp := k.file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, k.file)
}

func (k *keyring) apply(op, enc string) error {
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return fmt.Errorf("key is not base64: %w", err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ml == nil {
		return fmt.Errorf("gossip encryption is not enabled on this agent; start it with -encrypt")
	}
	switch op {
	case "install":
		err = k.ml.AddKey(key)
	case "use":
		err = k.ml.UseKey(key)
	case "remove":
		err = k.ml.RemoveKey(key)
	default:
		err = fmt.Errorf("unknown keyring operation %q", op)
	}
	if err != nil {
		return err
	}
	return k.save()
}
