#include "mcuaac.h"

#include <string.h>
#include <libavutil/channel_layout.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

mcu_aac_enc *mcu_aac_enc_new(int rate, int channels, int bitrate) {
	// The encoder reports statistics ("Qavg") at info level when it
	// closes: errors come back to Go, the rest is noise.
	av_log_set_level(AV_LOG_ERROR);
	mcu_aac_enc *e = calloc(1, sizeof(*e));
	if (!e) return NULL;
	const AVCodec *c = avcodec_find_encoder_by_name("aac");
	if (!c) { e->init_err = AVERROR_ENCODER_NOT_FOUND; return e; }
	e->ctx = avcodec_alloc_context3(c);
	e->frame = av_frame_alloc();
	e->pkt = av_packet_alloc();
	if (!e->ctx || !e->frame || !e->pkt) { e->init_err = AVERROR(ENOMEM); return e; }
	e->ctx->sample_rate = rate;
	e->ctx->sample_fmt = AV_SAMPLE_FMT_FLTP;
	av_channel_layout_default(&e->ctx->ch_layout, channels);
	e->ctx->bit_rate = bitrate;
	e->ctx->profile = FF_PROFILE_AAC_LOW;
	e->ctx->time_base = (AVRational){1, rate};
	// Raw AAC frames with the AudioSpecificConfig out of band, as FLV
	// and MP4 carry them.
	e->ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
	int err = avcodec_open2(e->ctx, c, NULL);
	if (err < 0) { e->init_err = err; return e; }
	e->frame->nb_samples = e->ctx->frame_size;
	e->frame->format = e->ctx->sample_fmt;
	av_channel_layout_copy(&e->frame->ch_layout, &e->ctx->ch_layout);
	e->frame->sample_rate = rate;
	err = av_frame_get_buffer(e->frame, 0);
	if (err < 0) { e->init_err = err; return e; }
	return e;
}

int mcu_aac_enc_frame_size(mcu_aac_enc *e) { return e->ctx->frame_size; }

int mcu_aac_enc_config(mcu_aac_enc *e, uint8_t *out, int cap) {
	if (e->ctx->extradata_size > cap) return -1;
	memcpy(out, e->ctx->extradata, e->ctx->extradata_size);
	return e->ctx->extradata_size;
}

int mcu_aac_enc_push(mcu_aac_enc *e, const int16_t *pcm, int n, uint8_t *out, int cap, int *size, int64_t *pts) {
	*size = 0;
	int ch = e->ctx->ch_layout.nb_channels;
	int room = e->ctx->frame_size - e->filled;
	if (n > room) n = room;
	if (e->filled == 0) {
		int err = av_frame_make_writable(e->frame);
		if (err < 0) return err;
	}
	for (int c = 0; c < ch; c++) {
		float *dst = (float *)e->frame->data[c] + e->filled;
		for (int i = 0; i < n; i++) dst[i] = pcm[i * ch + c] / 32768.0f;
	}
	e->filled += n;
	if (e->filled < e->ctx->frame_size) return n;
	e->frame->pts = e->next;
	e->next += e->ctx->frame_size;
	e->filled = 0;
	int err = avcodec_send_frame(e->ctx, e->frame);
	if (err < 0) return err;
	err = avcodec_receive_packet(e->ctx, e->pkt);
	if (err == AVERROR(EAGAIN)) return n;
	if (err < 0) return err;
	if (e->pkt->size <= cap) {
		memcpy(out, e->pkt->data, e->pkt->size);
		*size = e->pkt->size;
		*pts = e->pkt->pts;
	}
	av_packet_unref(e->pkt);
	return n;
}

void mcu_aac_enc_free(mcu_aac_enc *e) {
	if (!e) return;
	avcodec_free_context(&e->ctx);
	av_frame_free(&e->frame);
	av_packet_free(&e->pkt);
	free(e);
}

mcu_aac_dec *mcu_aac_dec_new(const uint8_t *asc, int asc_len) {
	mcu_aac_dec *d = calloc(1, sizeof(*d));
	if (!d) return NULL;
	const AVCodec *c = avcodec_find_decoder(AV_CODEC_ID_AAC);
	if (!c) { d->init_err = AVERROR_DECODER_NOT_FOUND; return d; }
	d->ctx = avcodec_alloc_context3(c);
	d->frame = av_frame_alloc();
	d->pkt = av_packet_alloc();
	if (!d->ctx || !d->frame || !d->pkt) { d->init_err = AVERROR(ENOMEM); return d; }
	d->ctx->extradata = av_mallocz(asc_len + AV_INPUT_BUFFER_PADDING_SIZE);
	if (!d->ctx->extradata) { d->init_err = AVERROR(ENOMEM); return d; }
	memcpy(d->ctx->extradata, asc, asc_len);
	d->ctx->extradata_size = asc_len;
	d->init_err = avcodec_open2(d->ctx, c, NULL);
	return d;
}

int mcu_aac_dec_decode(mcu_aac_dec *d, const uint8_t *data, int len, int16_t *pcm, int cap) {
	int err = av_new_packet(d->pkt, len);
	if (err < 0) return err;
	memcpy(d->pkt->data, data, len);
	err = avcodec_send_packet(d->ctx, d->pkt);
	av_packet_unref(d->pkt);
	if (err < 0) return err;
	int total = 0;
	for (;;) {
		err = avcodec_receive_frame(d->ctx, d->frame);
		if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) break;
		if (err < 0) return err;
		int n = d->frame->nb_samples;
		if (n > cap - total) n = cap - total;
		const float *src = (const float *)d->frame->data[0];
		for (int i = 0; i < n; i++) {
			float v = src[i] * 32768.0f;
			pcm[total + i] = v > 32767 ? 32767 : v < -32768 ? -32768 : (int16_t)v;
		}
		total += n;
		av_frame_unref(d->frame);
	}
	return total;
}

void mcu_aac_dec_free(mcu_aac_dec *d) {
	if (!d) return;
	avcodec_free_context(&d->ctx);
	av_frame_free(&d->frame);
	av_packet_free(&d->pkt);
	free(d);
}
