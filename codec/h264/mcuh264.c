#include "mcuh264.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

void mcu_h264_quiet_logs(void) { av_log_set_level(AV_LOG_QUIET); }

static void set_err(char *buf, size_t n, int err, const char *what) {
	char msg[64];
	if (av_strerror(err, msg, sizeof(msg)) < 0) snprintf(msg, sizeof(msg), "error %d", err);
	snprintf(buf, n, "%s: %s", what, msg);
}

int mcu_h264_eagain(void) { return AVERROR(EAGAIN); }

mcu_h264_dec *mcu_h264_dec_new(int64_t max_pixels) {
	mcu_h264_dec *d = calloc(1, sizeof(*d));
	if (d == NULL) return NULL;
	const AVCodec *codec = avcodec_find_decoder_by_name("h264");
	if (codec == NULL) {
		d->init_err = AVERROR_DECODER_NOT_FOUND;
		set_err(d->err, sizeof(d->err), d->init_err, "find h264 decoder");
		return d;
	}
	d->ctx = avcodec_alloc_context3(codec);
	d->pkt = av_packet_alloc();
	d->frame = av_frame_alloc();
	d->tmp = av_frame_alloc();
	if (d->ctx == NULL || d->pkt == NULL || d->frame == NULL || d->tmp == NULL) {
		d->init_err = AVERROR(ENOMEM);
		set_err(d->err, sizeof(d->err), d->init_err, "allocate h264 decoder");
		return d;
	}
	AVCodecContext *c = d->ctx;
	// One thread and no frame threading: frame threads add a frame of
	// delay, and an MCU runs one decoder per participant anyway.
	c->thread_count = 1;
	c->thread_type = 0;
	// Output each picture as soon as it is decoded (WebRTC streams have no
	// B-frames, so nothing needs reordering).
	c->flags |= AV_CODEC_FLAG_LOW_DELAY;
	// Fail the packet on any bitstream error instead of concealing it
	// silently; concealed pictures are still flagged in
	// decode_error_flags, which the Go side refuses.
	c->err_recognition |= AV_EF_EXPLODE;
	// Refuse pictures larger than the caller allows before any table or
	// picture buffer is allocated for them.
	c->max_pixels = max_pixels;
	int err = avcodec_open2(c, codec, NULL);
	if (err < 0) {
		d->init_err = err;
		set_err(d->err, sizeof(d->err), err, "open h264 decoder");
	}
	return d;
}

int mcu_h264_dec_decode(mcu_h264_dec *d, const uint8_t *data, int len) {
	d->got = 0;
	d->decode_error_flags = 0;
	d->frame_flags = 0;
	d->err[0] = 0;
	av_frame_unref(d->frame);
	// A packet without a buffer reference: avcodec_send_packet copies the
	// bytes (with the zero padding the bitstream reader needs) into its
	// own buffer before decoding, so data is read only during this call.
	d->pkt->data = (uint8_t *)data;
	d->pkt->size = len;
	int err = avcodec_send_packet(d->ctx, d->pkt);
	d->pkt->data = NULL;
	d->pkt->size = 0;
	if (err < 0) {
		set_err(d->err, sizeof(d->err), err, "h264 decode");
		return err;
	}
	for (;;) {
		err = avcodec_receive_frame(d->ctx, d->tmp);
		if (err == AVERROR(EAGAIN)) break;
		if (err < 0) {
			set_err(d->err, sizeof(d->err), err, "h264 decode");
			av_frame_unref(d->frame);
			d->got = 0;
			return err;
		}
		// Keep the newest picture; remember any picture's errors.
		d->decode_error_flags |= d->tmp->decode_error_flags;
		d->frame_flags |= d->tmp->flags;
		av_frame_unref(d->frame);
		av_frame_move_ref(d->frame, d->tmp);
		d->got = 1;
	}
	return 0;
}

void mcu_h264_dec_reset(mcu_h264_dec *d) {
	av_frame_unref(d->frame);
	av_frame_unref(d->tmp);
	d->got = 0;
	if (d->ctx != NULL && d->init_err == 0) avcodec_flush_buffers(d->ctx);
}

void mcu_h264_dec_free(mcu_h264_dec *d) {
	if (d == NULL) return;
	avcodec_free_context(&d->ctx);
	av_packet_free(&d->pkt);
	av_frame_free(&d->frame);
	av_frame_free(&d->tmp);
	free(d);
}

mcu_h264_enc *mcu_h264_enc_new(mcu_h264_enc_params p) {
	mcu_h264_enc *e = calloc(1, sizeof(*e));
	if (e == NULL) return NULL;
	const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
	if (codec == NULL) {
		e->init_err = AVERROR_ENCODER_NOT_FOUND;
		set_err(e->err, sizeof(e->err), e->init_err, "find libx264 encoder");
		return e;
	}
	e->ctx = avcodec_alloc_context3(codec);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (e->ctx == NULL || e->frame == NULL || e->pkt == NULL) {
		e->init_err = AVERROR(ENOMEM);
		set_err(e->err, sizeof(e->err), e->init_err, "allocate h264 encoder");
		return e;
	}
	AVCodecContext *c = e->ctx;
	// H.264 codes 4:2:0 pictures in whole chroma samples (cropping too
	// works in 2-pixel units), so an odd width or height is coded one
	// pixel larger, the last column or row repeated.
	e->width = p.width;
	e->height = p.height;
	c->width = (p.width + 1) & ~1;
	c->height = (p.height + 1) & ~1;
	c->pix_fmt = AV_PIX_FMT_YUV420P;
	c->time_base = (AVRational){1, p.fps};
	c->framerate = (AVRational){p.fps, 1};
	c->gop_size = p.keyint;
	c->max_b_frames = 0;
	c->thread_count = p.threads;
	// Parameter sets in band, repeated before every IDR (libx264's
	// repeat-headers follows the absence of this flag).
	c->flags &= ~AV_CODEC_FLAG_GLOBAL_HEADER;
	// Average bitrate capped by a VBV of the same rate: CBR-like.
	e->vbv_ms = p.vbv_ms;
	c->bit_rate = p.bitrate;
	c->rc_max_rate = p.bitrate;
	c->rc_buffer_size = (int)(p.bitrate * p.vbv_ms / 1000);
	int err = 0;
	if (err >= 0) err = av_opt_set(c->priv_data, "preset", p.preset, 0);
	if (err >= 0) err = av_opt_set(c->priv_data, "tune", p.tune, 0);
	if (err >= 0) err = av_opt_set(c->priv_data, "profile", p.profile, 0);
	if (err >= 0) err = av_opt_set_int(c->priv_data, "forced-idr", 1, 0);
	if (err >= 0 && p.x264_params != NULL && p.x264_params[0] != 0)
		err = av_opt_set(c->priv_data, "x264-params", p.x264_params, 0);
	if (err < 0) {
		e->init_err = err;
		set_err(e->err, sizeof(e->err), err, "set libx264 options");
		return e;
	}
	err = avcodec_open2(c, codec, NULL);
	if (err < 0) {
		e->init_err = err;
		set_err(e->err, sizeof(e->err), err, "open libx264 encoder");
		return e;
	}
	e->frame->format = AV_PIX_FMT_YUV420P;
	e->frame->width = c->width;
	e->frame->height = c->height;
	err = av_frame_get_buffer(e->frame, 0);
	if (err < 0) {
		e->init_err = err;
		set_err(e->err, sizeof(e->err), err, "allocate h264 encoder picture");
	}
	return e;
}

static void copy_plane(uint8_t *dst, int dst_stride, const uint8_t *src, int src_stride, int w,
                       int h) {
	for (int r = 0; r < h; r++) memcpy(dst + (size_t)r * dst_stride, src + (size_t)r * src_stride, w);
}

int mcu_h264_enc_send(mcu_h264_enc *e, const uint8_t *y, int sy, const uint8_t *u, int su,
                      const uint8_t *v, int sv, int force_idr) {
	e->err[0] = 0;
	AVFrame *f = e->frame;
	// The encoder has released the previous picture by now (libx264 copies
	// it into its own lookahead), so this does not allocate in steady
	// state.
	int err = av_frame_make_writable(f);
	if (err < 0) {
		set_err(e->err, sizeof(e->err), err, "h264 encode");
		return err;
	}
	int w = e->width, h = e->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
	copy_plane(f->data[0], f->linesize[0], y, sy, w, h);
	copy_plane(f->data[1], f->linesize[1], u, su, cw, ch);
	copy_plane(f->data[2], f->linesize[2], v, sv, cw, ch);
	if (f->width > w) // repeat the last column
		for (int r = 0; r < h; r++) f->data[0][(size_t)r * f->linesize[0] + w] = f->data[0][(size_t)r * f->linesize[0] + w - 1];
	if (f->height > h) // repeat the last row
		memcpy(f->data[0] + (size_t)h * f->linesize[0], f->data[0] + (size_t)(h - 1) * f->linesize[0], f->width);
	f->pts = e->pts++;
	f->pict_type = force_idr ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
	err = avcodec_send_frame(e->ctx, f);
	if (err < 0) set_err(e->err, sizeof(e->err), err, "h264 encode");
	return err;
}

int mcu_h264_enc_receive(mcu_h264_enc *e) {
	av_packet_unref(e->pkt);
	int err = avcodec_receive_packet(e->ctx, e->pkt);
	if (err < 0 && err != AVERROR(EAGAIN)) set_err(e->err, sizeof(e->err), err, "h264 encode");
	return err;
}

void mcu_h264_enc_set_bitrate(mcu_h264_enc *e, int64_t bitrate) {
	AVCodecContext *c = e->ctx;
	c->bit_rate = bitrate;
	c->rc_max_rate = bitrate;
	c->rc_buffer_size = (int)(bitrate * e->vbv_ms / 1000);
}

void mcu_h264_enc_free(mcu_h264_enc *e) {
	if (e == NULL) return;
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
	free(e);
}
