// Small C helpers over libavcodec for package h264: the H.264 decoder
// ("h264") and the libx264 encoder wrapper ("libx264"). Doing a whole
// decode or encode step in one C call keeps the Go side free of pointers
// to Go locals (which would escape and allocate) and keeps libavcodec's
// option strings and AVERROR macros on the C side.
//
// All state lives in C memory. Go memory (an access unit to decode, the
// planes of a picture to encode) is passed in for the duration of one call
// and is copied before the call returns: libavcodec never keeps it.
#ifndef MCU_H264_H
#define MCU_H264_H

#include <stddef.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

// mcu_h264_quiet_logs lowers libav*'s global log level so a stream of
// broken packets from a remote sender does not flood stderr: every error
// the wrapper cares about is returned to Go instead.
void mcu_h264_quiet_logs(void);

typedef struct {
	AVCodecContext *ctx;
	AVPacket *pkt;
	AVFrame *frame; // the picture handed to Go, valid until the next call
	AVFrame *tmp;
	int init_err; // AVERROR from setup, 0 when ready
	// Set by mcu_h264_dec_decode: whether frame holds a picture, and the
	// union of the error flags of every picture the call produced.
	int got;
	int decode_error_flags;
	int frame_flags;
	char err[96];
} mcu_h264_dec;

mcu_h264_dec *mcu_h264_dec_new(int64_t max_pixels);
// mcu_h264_dec_decode feeds one Annex-B access unit and collects the
// picture it produces. Returns 0 or a negative AVERROR (message in err).
int mcu_h264_dec_decode(mcu_h264_dec *d, const uint8_t *data, int len);
// mcu_h264_dec_reset drops every reference picture (after an error), so
// nothing decoded from a broken reference can come out later. Parameter
// sets are kept.
void mcu_h264_dec_reset(mcu_h264_dec *d);
void mcu_h264_dec_free(mcu_h264_dec *d);

typedef struct {
	int width, height, fps;
	int64_t bitrate;     // bits per second
	int vbv_ms;          // rate-control buffer in milliseconds
	int threads;
	int keyint;          // longest automatic keyframe interval, in frames
	const char *preset;  // x264 preset
	const char *tune;    // x264 tune
	const char *profile; // x264 profile
	const char *x264_params;
} mcu_h264_enc_params;

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame; // our own picture buffer, copied into each call
	AVPacket *pkt;  // the packet handed to Go, valid until the next call
	int width, height; // of the input; the coded picture is rounded up to even
	int64_t pts;
	int vbv_ms;
	int init_err;
	char err[96];
} mcu_h264_enc;

mcu_h264_enc *mcu_h264_enc_new(mcu_h264_enc_params p);
// mcu_h264_enc_send copies the three planes into the encoder's own frame
// and submits it, as a forced IDR when force_idr is set. Returns 0 or a
// negative AVERROR.
int mcu_h264_enc_send(mcu_h264_enc *e, const uint8_t *y, int sy, const uint8_t *u, int su,
                      const uint8_t *v, int sv, int force_idr);
// mcu_h264_enc_receive fetches the next packet into e->pkt. Returns 0, or
// AVERROR(EAGAIN) when the encoder has nothing more for now, or another
// negative AVERROR.
int mcu_h264_enc_receive(mcu_h264_enc *e);
int mcu_h264_eagain(void);
// mcu_h264_enc_set_bitrate changes the target (and the VBV rate and buffer
// with it); libavcodec's libx264 wrapper reconfigures x264 on the next
// frame.
void mcu_h264_enc_set_bitrate(mcu_h264_enc *e, int64_t bitrate);
void mcu_h264_enc_free(mcu_h264_enc *e);

#endif
