package notebook

import (
	"github.com/janpfeifer/gonb/gonbui"
	"github.com/janpfeifer/gonb/gonbui/protocol"
)

// gonbPublish sends one output to the GoNB kernel; with an id, GoNB makes
// the output the first time and updates it in place afterwards.
func gonbPublish(data map[string]any, id string) {
	dd := &protocol.DisplayData{Data: make(map[protocol.MIMEType]any, len(data)), DisplayID: id}
	for k, v := range data {
		dd.Data[protocol.MIMEType(k)] = v
	}
	gonbui.SendData(dd)
}
