// Small C helpers over libavcodec's native AAC encoder ("aac") and its
// decoder, for package aac. All state lives in C memory; Go's PCM and
// packets are passed in for one call and copied before it returns.
#ifndef MCU_AAC_H
#define MCU_AAC_H

#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	int filled;   // samples gathered in frame
	int64_t next; // pts (samples) of the next frame sent
	int init_err;
} mcu_aac_enc;

// mcu_aac_enc_new opens an AAC-LC encoder at rate, channels, bitrate
// (constant). init_err is set on failure.
mcu_aac_enc *mcu_aac_enc_new(int rate, int channels, int bitrate);
// mcu_aac_enc_frame_size is the samples per channel of one AAC frame.
int mcu_aac_enc_frame_size(mcu_aac_enc *e);
// mcu_aac_enc_config copies the AudioSpecificConfig into out (cap
// bytes) and returns its size (-1 when it does not fit).
int mcu_aac_enc_config(mcu_aac_enc *e, uint8_t *out, int cap);
// mcu_aac_enc_push adds n interleaved int16 samples per channel, at most
// what fills the current frame, and returns how many it took; once the
// frame is full it is encoded. A finished packet (at most one) is
// copied to out: *size (0: none yet), *pts its first sample's time in
// samples (the encoder's priming counted, so the first is negative).
// Returns <0 (AVERROR) on failure.
int mcu_aac_enc_push(mcu_aac_enc *e, const int16_t *pcm, int n, uint8_t *out, int cap, int *size, int64_t *pts);
void mcu_aac_enc_free(mcu_aac_enc *e);

typedef struct {
	AVCodecContext *ctx;
	AVFrame *frame;
	AVPacket *pkt;
	int init_err;
} mcu_aac_dec;

// mcu_aac_dec_new opens the AAC decoder with an AudioSpecificConfig.
mcu_aac_dec *mcu_aac_dec_new(const uint8_t *asc, int asc_len);
// mcu_aac_dec_decode decodes one raw AAC frame into pcm (mono int16,
// the first channel; cap samples) and returns the samples written, or
// <0 (AVERROR).
int mcu_aac_dec_decode(mcu_aac_dec *d, const uint8_t *data, int len, int16_t *pcm, int cap);
void mcu_aac_dec_free(mcu_aac_dec *d);

#endif
