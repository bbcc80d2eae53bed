// egress-standin: an audio-only stand-in for LiveKit Egress, for the real-LiveKit test tier.
//
// LiveKit's egress service (GStreamer 1.24, Chrome) cannot be built on this project's machines, so
// without it the real livekit-server answers StartEgress with "no response from servers" and a
// facesign call is never recorded. This program serves the same internal RPC the real egress
// serves (psrpc over the stack's Redis), for the one request facesign makes of a call:
//
//	RoomComposite, audio_only, one file output, OGG, uploaded to S3.
//
// What livekit-server sees is what it sees from the real egress:
//   - EgressInternal.StartEgress (claimed by affinity): the stand-in answers EGRESS_STARTING; livekit-
//     server stores the egress and sends egress_started.
//   - It joins the room as a hidden recorder (participant kind EGRESS, identity = egress id), mixes the
//     audio tracks and reports EGRESS_ACTIVE (IOInfo.UpdateEgress -> egress_updated).
//   - EgressHandler.StopEgress (topic = egress id), or the room closing: EGRESS_ENDING, the Ogg Opus
//     file is finished and uploaded to the request's bucket and key, then EGRESS_COMPLETE with the
//     file result (filename = the key, size, duration, location) -> egress_ended; a failure is
//     EGRESS_FAILED with the error. ListEgress is answered by livekit-server from what was reported.
//   - EgressInternal.ListActiveEgress: the egresses it is running.
//
// Anything else (video, streams, segments, other file types or storage) is declined the way an egress
// that cannot take a request declines it: no claim (affinity -1), so livekit-server answers exactly as
// when no egress is connected. The stand-in logs why.
//
// The recording is MIXED, not single-track: each subscribed audio track's Opus packets are decoded to
// 48 kHz mono PCM (libopus through cgo), summed every 20 ms of wall-clock time (silence where no one
// speaks, so the file lasts as long as the recording ran), and re-encoded to Opus in an Ogg container.
//
// Configuration: -redis host:port, -ws-url ws://host:port, LIVEKIT_API_KEY and LIVEKIT_API_SECRET in
// the environment (the stack passes its own; secrets stay out of the process list).
package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/pion/webrtc/v4"
	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"
	"gopkg.in/hraban/opus.v2"

	"github.com/livekit/protocol/egress"
	"github.com/livekit/protocol/livekit"
	"github.com/livekit/protocol/logger"
	"github.com/livekit/protocol/rpc"
	"github.com/livekit/psrpc"
	lksdk "github.com/livekit/server-sdk-go/v2"
)

const (
	sampleRate   = 48000
	frameSamples = sampleRate / 50 // 20 ms
	frameLength  = 20 * time.Millisecond
	// libopus's encoder delay at 48 kHz for the VoIP application: the decoder drops this many samples.
	preSkip = 312
	// Mono speech: 32 kb/s is transparent enough for a call (the phone side is narrowband anyway).
	bitrate = 32000
	// A track's decoded audio waits for this much before the mixer takes it, absorbing network jitter;
	// more than a second behind is dropped, so a stalled track never delays the mix for good.
	jitterSamples = 2 * frameSamples
	maxBuffered   = sampleRate
)

type config struct {
	wsURL, apiKey, apiSecret string
}

func main() {
	redisAddr := flag.String("redis", "127.0.0.1:6379", "the Redis livekit-server uses (host:port)")
	wsURL := flag.String("ws-url", "ws://127.0.0.1:7880", "livekit-server's WebSocket URL, to join rooms")
	flag.Parse()
	cfg := config{wsURL: *wsURL, apiKey: os.Getenv("LIVEKIT_API_KEY"), apiSecret: os.Getenv("LIVEKIT_API_SECRET")}
	if cfg.apiKey == "" || cfg.apiSecret == "" {
		log.Fatal("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
	}
	// The SDK and pion log every connection step at info; the stand-in's own lines say what matters.
	if quiet, err := logger.NewZapLogger(&logger.Config{Level: "warn"}); err == nil {
		lksdk.SetLogger(quiet)
	}

	rc := redis.NewClient(&redis.Options{Addr: *redisAddr})
	if err := rc.Ping(context.Background()).Err(); err != nil {
		log.Fatalf("redis %s: %v", *redisAddr, err)
	}
	bus := psrpc.NewRedisMessageBus(rc)
	s, err := newServer(cfg, bus)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("egress stand-in ready (redis %s, livekit %s): audio-only room composites to Ogg Opus on S3", *redisAddr, cfg.wsURL)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.shutdown()
}

// server implements EgressInternal (start, list) and EgressHandler (stop) over psrpc.
type server struct {
	cfg      config
	io       rpc.IOInfoClient
	internal rpc.EgressInternalServer
	handler  rpc.EgressHandlerServer

	mu     sync.Mutex
	active map[string]*recording
	wg     sync.WaitGroup
}

func newServer(cfg config, bus psrpc.MessageBus) (*server, error) {
	s := &server{cfg: cfg, active: map[string]*recording{}}
	var err error
	if s.io, err = rpc.NewIOInfoClient(bus); err != nil {
		return nil, err
	}
	if s.internal, err = rpc.NewEgressInternalServer(s, bus); err != nil {
		return nil, err
	}
	if s.handler, err = rpc.NewEgressHandlerServer(s, bus); err != nil {
		return nil, err
	}
	// The empty topic is the default cluster, the one livekit-server's StartEgress is sent to.
	if err = s.internal.RegisterStartEgressTopic(""); err != nil {
		return nil, err
	}
	if err = s.internal.RegisterListActiveEgressTopic(""); err != nil {
		return nil, err
	}
	return s, nil
}

// audioRequest is what the stand-in can record: the room and the one OGG file on S3.
type audioRequest struct {
	room string
	file *livekit.EncodedFileOutput
}

func acceptable(req *rpc.StartEgressRequest) (audioRequest, error) {
	rc := req.GetRoomComposite()
	if rc == nil {
		return audioRequest{}, fmt.Errorf("only room composite egress is supported, not %T", req.GetRequest())
	}
	if !rc.GetAudioOnly() {
		return audioRequest{}, errors.New("only audio_only room composites are recorded (video egress runs on the simulator only)")
	}
	files := rc.GetFileOutputs()
	if f := rc.GetFile(); f != nil {
		files = append(files, f)
	}
	if len(files) != 1 || rc.GetStream() != nil || rc.GetSegments() != nil || len(rc.GetStreamOutputs())+len(rc.GetSegmentOutputs())+len(rc.GetImageOutputs()) > 0 {
		return audioRequest{}, errors.New("exactly one file output, and nothing else, is supported")
	}
	file := files[0]
	if t := file.GetFileType(); t != livekit.EncodedFileType_OGG && t != livekit.EncodedFileType_DEFAULT_FILETYPE {
		return audioRequest{}, fmt.Errorf("file type %s is not supported (OGG only)", t)
	}
	if file.GetS3() == nil || file.GetS3().GetBucket() == "" {
		return audioRequest{}, errors.New("only S3 uploads are supported")
	}
	return audioRequest{room: rc.GetRoomName(), file: file}, nil
}

// StartEgressAffinity is asked before StartEgress: -1 is no claim, as an egress that cannot take the
// request answers, so livekit-server's reply is the same as with no egress at all.
func (s *server) StartEgressAffinity(_ context.Context, req *rpc.StartEgressRequest) float32 {
	if _, err := acceptable(req); err != nil {
		log.Printf("declining egress %s: %v", req.GetEgressId(), err)
		return -1
	}
	return 1
}

func (s *server) StartEgress(_ context.Context, req *rpc.StartEgressRequest) (*livekit.EgressInfo, error) {
	want, err := acceptable(req)
	if err != nil {
		return nil, psrpc.NewError(psrpc.InvalidArgument, err)
	}
	// What livekit-server stores and sends in webhooks carries no storage secrets (as the real egress).
	redacted := proto.Clone(req.GetRoomComposite()).(*livekit.RoomCompositeEgressRequest)
	egress.RedactEncodedOutputs(redacted)
	key := want.file.GetFilepath()
	if key == "" || strings.HasSuffix(key, "/") {
		key += req.GetEgressId() + ".ogg"
	}
	now := time.Now().UnixNano()
	info := &livekit.EgressInfo{
		EgressId:   req.GetEgressId(),
		RoomId:     req.GetRoomId(),
		RoomName:   want.room,
		SourceType: livekit.EgressSourceType_EGRESS_SOURCE_TYPE_SDK,
		Status:     livekit.EgressStatus_EGRESS_STARTING,
		UpdatedAt:  now,
		Request:    &livekit.EgressInfo_RoomComposite{RoomComposite: redacted},
	}
	r := &recording{s: s, info: info, upload: want.file.GetS3(), key: key, stop: make(chan struct{})}
	s.mu.Lock()
	if _, dup := s.active[info.EgressId]; dup {
		s.mu.Unlock()
		return nil, psrpc.NewErrorf(psrpc.AlreadyExists, "egress %s is already running", info.EgressId)
	}
	s.active[info.EgressId] = r
	s.mu.Unlock()
	if err := s.handler.RegisterStopEgressTopic(info.EgressId); err != nil {
		s.forget(info.EgressId)
		return nil, psrpc.NewError(psrpc.Internal, err)
	}
	log.Printf("egress %s: recording room %s to s3://%s/%s", info.EgressId, want.room, r.upload.GetBucket(), key)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.forget(info.EgressId)
		r.run()
	}()
	return proto.Clone(info).(*livekit.EgressInfo), nil
}

func (s *server) ListActiveEgress(context.Context, *rpc.ListActiveEgressRequest) (*rpc.ListActiveEgressResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.active))
	for id := range s.active {
		ids = append(ids, id)
	}
	return &rpc.ListActiveEgressResponse{EgressIds: ids}, nil
}

func (s *server) StopEgress(_ context.Context, req *livekit.StopEgressRequest) (*livekit.EgressInfo, error) {
	s.mu.Lock()
	r := s.active[req.GetEgressId()]
	s.mu.Unlock()
	if r == nil {
		return nil, psrpc.NewErrorf(psrpc.NotFound, "egress %s is not running here", req.GetEgressId())
	}
	return r.end("StopEgress"), nil
}

func (s *server) UpdateEgress(context.Context, *livekit.UpdateEgressRequest) (*livekit.EgressInfo, error) {
	return nil, psrpc.NewErrorf(psrpc.Unimplemented, "the egress stand-in has no outputs to update")
}

func (s *server) UpdateStream(context.Context, *livekit.UpdateStreamRequest) (*livekit.EgressInfo, error) {
	return nil, psrpc.NewErrorf(psrpc.Unimplemented, "the egress stand-in has no streams")
}

func (s *server) forget(egressID string) {
	s.handler.DeregisterStopEgressTopic(egressID)
	s.mu.Lock()
	delete(s.active, egressID)
	s.mu.Unlock()
}

// shutdown aborts what is still recording (the stack is going away, and the store with it).
func (s *server) shutdown() {
	s.internal.DeregisterStartEgressTopic("")
	s.mu.Lock()
	running := make([]*recording, 0, len(s.active))
	for _, r := range s.active {
		running = append(running, r)
	}
	s.mu.Unlock()
	for _, r := range running {
		r.abort("the egress stand-in was shut down")
	}
	s.wg.Wait()
	s.internal.Shutdown()
	s.handler.Shutdown()
}

// recording is one egress: the room it listens to, the mix, and the status it reports.
type recording struct {
	s      *server
	upload *livekit.S3Upload
	key    string

	mu       sync.Mutex // guards info and serialises status reports, so they reach livekit-server in order
	info     *livekit.EgressInfo
	stopOnce sync.Once
	stop     chan struct{}
	aborted  string
}

// report moves the egress forward (never back: a late ACTIVE after a stop is dropped) and tells
// livekit-server, which stores it and sends the webhook the status calls for.
func (r *recording) report(status livekit.EgressStatus, change func(*livekit.EgressInfo)) *livekit.EgressInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	if terminal(r.info.Status) || status <= r.info.Status {
		return proto.Clone(r.info).(*livekit.EgressInfo)
	}
	r.info.Status = status
	r.info.UpdatedAt = time.Now().UnixNano()
	if change != nil {
		change(r.info)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.s.io.UpdateEgress(ctx, r.info); err != nil {
		log.Printf("egress %s: reporting %s failed: %v", r.info.EgressId, status, err)
	} else {
		log.Printf("egress %s: %s", r.info.EgressId, status)
	}
	return proto.Clone(r.info).(*livekit.EgressInfo)
}

func terminal(status livekit.EgressStatus) bool {
	return status >= livekit.EgressStatus_EGRESS_COMPLETE
}

// end asks the recording to finish (StopEgress, or the room closed): EGRESS_ENDING, as the real egress.
func (r *recording) end(why string) *livekit.EgressInfo {
	info := r.report(livekit.EgressStatus_EGRESS_ENDING, func(i *livekit.EgressInfo) { i.Details = "ending: " + why })
	r.stopOnce.Do(func() { close(r.stop) })
	return info
}

func (r *recording) abort(why string) {
	r.mu.Lock()
	r.aborted = why
	r.mu.Unlock()
	r.stopOnce.Do(func() { close(r.stop) })
}

func (r *recording) fail(err error) {
	log.Printf("egress %s: failed: %v", r.info.EgressId, err)
	r.report(livekit.EgressStatus_EGRESS_FAILED, func(i *livekit.EgressInfo) {
		i.Error = err.Error()
		i.EndedAt = time.Now().UnixNano()
	})
}

func (r *recording) run() {
	egressID, roomName := r.info.EgressId, r.info.RoomName
	r.waitUntilStored(egressID)

	m := newMixer()
	callback := lksdk.NewRoomCallback()
	callback.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, p *lksdk.RemoteParticipant) {
		if track.Kind() != webrtc.RTPCodecTypeAudio || !strings.EqualFold(track.Codec().MimeType, webrtc.MimeTypeOpus) {
			_ = pub.SetSubscribed(false)
			return
		}
		log.Printf("egress %s: mixing %s's audio track %s", egressID, p.Identity(), track.ID())
		go m.read(track)
	}
	callback.OnDisconnected = func() { go r.end("the room closed") }
	token, err := egress.BuildEgressToken(egressID, r.s.cfg.apiKey, r.s.cfg.apiSecret, roomName)
	if err != nil {
		r.fail(err)
		return
	}
	room, err := lksdk.ConnectToRoomWithToken(r.s.cfg.wsURL, token, callback)
	if err != nil {
		r.fail(fmt.Errorf("joining room %s: %w", roomName, err))
		return
	}
	select {
	case <-r.stop:
		room.Disconnect()
		r.report(livekit.EgressStatus_EGRESS_ABORTED, func(i *livekit.EgressInfo) {
			i.Error = "stopped before recording started"
			i.EndedAt = time.Now().UnixNano()
		})
		return
	default:
	}
	started := time.Now()
	mixed := make(chan error, 1)
	go func() { mixed <- m.run(started, r.stop) }()
	r.report(livekit.EgressStatus_EGRESS_ACTIVE, func(i *livekit.EgressInfo) { i.StartedAt = started.UnixNano() })

	<-r.stop
	room.Disconnect()
	mixErr := <-mixed
	ended := time.Now()
	r.mu.Lock()
	aborted := r.aborted
	r.mu.Unlock()
	if aborted != "" {
		r.report(livekit.EgressStatus_EGRESS_ABORTED, func(i *livekit.EgressInfo) { i.Error = aborted; i.EndedAt = ended.UnixNano() })
		return
	}
	if mixErr != nil {
		r.fail(fmt.Errorf("encoding: %w", mixErr))
		return
	}

	data := m.ogg.Bytes()
	location, err := r.put(data)
	if err != nil {
		r.fail(fmt.Errorf("uploading to s3://%s/%s: %w", r.upload.GetBucket(), r.key, err))
		return
	}
	file := &livekit.FileInfo{
		Filename:  r.key,
		StartedAt: started.UnixNano(),
		EndedAt:   ended.UnixNano(),
		Duration:  int64(m.frames) * int64(frameLength),
		Size:      int64(len(data)),
		Location:  location,
	}
	log.Printf("egress %s: uploaded %d bytes, %s of audio", egressID, file.Size, time.Duration(file.Duration))
	r.report(livekit.EgressStatus_EGRESS_COMPLETE, func(i *livekit.EgressInfo) {
		i.StartedAt = started.UnixNano() // also when a stop overtook the ACTIVE report
		i.EndedAt = ended.UnixNano()
		i.FileResults = []*livekit.FileInfo{file}
		i.Result = &livekit.EgressInfo_File{File: file}
	})
}

// waitUntilStored holds the first status report until livekit-server has stored the egress (it does
// so after StartEgress answers): an update that overtook it would make livekit-server skip
// egress_started, since it sends that only for an egress it did not have.
func (r *recording) waitUntilStored(egressID string) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := r.s.io.GetEgress(ctx, &rpc.GetEgressRequest{EgressId: egressID})
		cancel()
		if err == nil {
			return
		}
	}
	log.Printf("egress %s: livekit-server has not stored it after 5 s; reporting anyway", egressID)
}

// put uploads the file where the request said (path style if asked) and returns its location.
func (r *recording) put(data []byte) (string, error) {
	u := r.upload
	region := u.GetRegion()
	if region == "" {
		region = "us-east-1"
	}
	client := s3.New(s3.Options{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(u.GetAccessKey(), u.GetSecret(), u.GetSessionToken()),
		// A Content-MD5 (below) is what Object Lock buckets require; no streamed checksum trailers,
		// which not every S3 implementation reads.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		UsePathStyle:               u.GetForcePathStyle(),
		BaseEndpoint:               endpoint(u.GetEndpoint()),
	})
	sum := md5.Sum(data)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(u.GetBucket()),
		Key:           aws.String(r.key),
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   aws.String("audio/ogg"),
		ContentMD5:    aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		return "", err
	}
	if base := u.GetEndpoint(); base != "" {
		return strings.TrimSuffix(base, "/") + "/" + u.GetBucket() + "/" + r.key, nil
	}
	return fmt.Sprintf("https://%s.s3.amazonaws.com/%s", u.GetBucket(), r.key), nil
}

func endpoint(url string) *string {
	if url == "" {
		return nil
	}
	if !strings.Contains(url, "://") {
		url = "https://" + url
	}
	return aws.String(url)
}

// mixer sums the decoded audio of every subscribed track, 20 ms at a time, into one Opus stream.
type mixer struct {
	mu      sync.Mutex
	sources []*source
	ogg     bytes.Buffer
	frames  int
}

// source is one track's decoded audio waiting to be mixed.
type source struct {
	pcm    []int16
	primed bool
}

func newMixer() *mixer { return &mixer{} }

// read decodes one track's Opus packets until the track ends, concealing a few lost packets.
func (m *mixer) read(track *webrtc.TrackRemote) {
	dec, err := opus.NewDecoder(sampleRate, 1)
	if err != nil {
		log.Printf("opus decoder: %v", err)
		return
	}
	src := &source{}
	m.mu.Lock()
	m.sources = append(m.sources, src)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		for i, s := range m.sources {
			if s == src {
				m.sources = append(m.sources[:i], m.sources[i+1:]...)
				break
			}
		}
		m.mu.Unlock()
	}()
	pcm := make([]int16, 6*frameSamples) // Opus packets are at most 120 ms
	var last uint16
	first := true
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if !first {
			gap := int16(pkt.SequenceNumber - last)
			if gap <= 0 {
				continue // late or duplicate
			}
			for lost := 1; lost < int(gap) && lost <= 5; lost++ {
				if dec.DecodePLC(pcm[:frameSamples]) == nil {
					m.push(src, pcm[:frameSamples])
				}
			}
		}
		first, last = false, pkt.SequenceNumber
		if len(pkt.Payload) == 0 {
			continue
		}
		n, err := dec.Decode(pkt.Payload, pcm)
		if err != nil {
			continue
		}
		m.push(src, pcm[:n])
	}
}

func (m *mixer) push(src *source, pcm []int16) {
	m.mu.Lock()
	defer m.mu.Unlock()
	src.pcm = append(src.pcm, pcm...)
	if over := len(src.pcm) - maxBuffered; over > 0 {
		src.pcm = src.pcm[over:]
	}
}

// run writes one mixed frame for every 20 ms since start (catching up after a slow tick), and the
// frames still due when stop closes, then ends the Ogg stream.
func (m *mixer) run(start time.Time, stop <-chan struct{}) error {
	enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return err
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return err
	}
	ogg := newOggWriter(&m.ogg)
	if err := ogg.writeHeaders(); err != nil {
		return err
	}
	sum := make([]int32, frameSamples)
	frame := make([]int16, frameSamples)
	packet := make([]byte, 4000)
	tick := time.NewTicker(frameLength / 2)
	defer tick.Stop()
	for {
		stopping := false
		select {
		case <-stop:
			stopping = true
		case <-tick.C:
		}
		for due := int(time.Since(start) / frameLength); m.frames < due; m.frames++ {
			m.mix(sum, frame)
			n, err := enc.Encode(frame, packet)
			if err != nil {
				return err
			}
			if err := ogg.add(packet[:n], uint64(preSkip+(m.frames+1)*frameSamples)); err != nil {
				return err
			}
		}
		if stopping {
			return ogg.finish()
		}
	}
}

// mix takes up to one frame from every source (a source waits until it has a little buffered, so
// jitter does not chop it) and sums them with clipping.
func (m *mixer) mix(sum []int32, frame []int16) {
	clear(sum)
	m.mu.Lock()
	for _, src := range m.sources {
		if !src.primed && len(src.pcm) < jitterSamples {
			continue
		}
		n := min(len(src.pcm), frameSamples)
		for i := range n {
			sum[i] += int32(src.pcm[i])
		}
		src.pcm = src.pcm[n:]
		src.primed = n == frameSamples
	}
	m.mu.Unlock()
	for i, v := range sum {
		frame[i] = int16(max(-32768, min(32767, v)))
	}
}

// oggWriter is the little of RFC 3533 / RFC 7845 an Ogg Opus file needs: an OpusHead page, an
// OpusTags page, then audio pages of up to 50 packets (one second), the last one flagged end of stream.
type oggWriter struct {
	w        *bytes.Buffer
	serial   uint32
	sequence uint32
	packets  [][]byte
	segments int // lacing values the pending packets take (a page holds at most 255)
	granule  uint64
}

func newOggWriter(w *bytes.Buffer) *oggWriter {
	return &oggWriter{w: w, serial: uint32(time.Now().UnixNano())}
}

func (o *oggWriter) writeHeaders() error {
	head := make([]byte, 19)
	copy(head, "OpusHead")
	head[8] = 1 // version
	head[9] = 1 // channels
	binary.LittleEndian.PutUint16(head[10:], preSkip)
	binary.LittleEndian.PutUint32(head[12:], sampleRate)
	// output gain 0, channel mapping family 0
	vendor := "facesign egress stand-in"
	tags := make([]byte, 8+4+len(vendor)+4)
	copy(tags, "OpusTags")
	binary.LittleEndian.PutUint32(tags[8:], uint32(len(vendor)))
	copy(tags[12:], vendor)
	if err := o.page([][]byte{head}, 0, 0x02); err != nil {
		return err
	}
	return o.page([][]byte{tags}, 0, 0)
}

// add queues a packet whose last sample is at `granule`; a page is written once a second's worth is
// queued, or before the page would need more than 255 lacing values.
func (o *oggWriter) add(packet []byte, granule uint64) error {
	lacing := len(packet)/255 + 1
	if o.segments+lacing > 255 {
		if err := o.flush(0); err != nil {
			return err
		}
	}
	o.packets = append(o.packets, bytes.Clone(packet))
	o.segments += lacing
	o.granule = granule
	if len(o.packets) == 50 {
		return o.flush(0)
	}
	return nil
}

func (o *oggWriter) flush(flags byte) error {
	err := o.page(o.packets, o.granule, flags)
	o.packets, o.segments = o.packets[:0], 0
	return err
}

func (o *oggWriter) finish() error {
	return o.flush(0x04)
}

func (o *oggWriter) page(packets [][]byte, granule uint64, flags byte) error {
	var segments []byte
	for _, p := range packets {
		for n := len(p); ; n -= 255 {
			if n < 255 {
				segments = append(segments, byte(n))
				break
			}
			segments = append(segments, 255)
		}
	}
	if len(segments) > 255 {
		return fmt.Errorf("ogg page of %d segments", len(segments))
	}
	header := make([]byte, 27, 27+len(segments))
	copy(header, "OggS")
	header[5] = flags
	binary.LittleEndian.PutUint64(header[6:], granule)
	binary.LittleEndian.PutUint32(header[14:], o.serial)
	binary.LittleEndian.PutUint32(header[18:], o.sequence)
	header[26] = byte(len(segments))
	header = append(header, segments...)
	page := bytes.Join(append([][]byte{header}, packets...), nil)
	binary.LittleEndian.PutUint32(page[22:], oggCRC(page))
	o.sequence++
	_, err := o.w.Write(page)
	return err
}

var oggCRCTable = func() (t [256]uint32) {
	for i := range t {
		r := uint32(i) << 24
		for range 8 {
			if r&0x80000000 != 0 {
				r = r<<1 ^ 0x04c11db7
			} else {
				r <<= 1
			}
		}
		t[i] = r
	}
	return t
}()

// oggCRC is Ogg's CRC-32 (polynomial 0x04c11db7, not reflected, no final xor) over the page with
// its checksum field zero.
func oggCRC(page []byte) uint32 {
	var crc uint32
	for _, b := range page {
		crc = crc<<8 ^ oggCRCTable[byte(crc>>24)^b]
	}
	return crc
}
