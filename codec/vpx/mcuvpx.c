#include "mcuvpx.h"

#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>

mcu_vpx_dec *mcu_vpx_dec_new(unsigned int threads) {
	mcu_vpx_dec *d = calloc(1, sizeof(*d));
	if (d == NULL) return NULL;
	vpx_codec_dec_cfg_t cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.threads = threads;
	d->init_err = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	return d;
}

vpx_codec_err_t mcu_vpx_dec_decode(mcu_vpx_dec *d, const uint8_t *data, size_t len) {
	d->img = NULL;
	d->corrupted = 0;
	// VP8 decoding is synchronous: libvpx reads data only during this call.
	vpx_codec_err_t err = vpx_codec_decode(&d->ctx, data, (unsigned int)len, NULL, 0);
	if (err != VPX_CODEC_OK) return err;
	int corrupted = 0;
	if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted) == VPX_CODEC_OK &&
	    corrupted) {
		d->corrupted = 1;
	}
	vpx_codec_iter_t iter = NULL;
	d->img = vpx_codec_get_frame(&d->ctx, &iter);
	return VPX_CODEC_OK;
}

const char *mcu_vpx_dec_error(mcu_vpx_dec *d) {
	const char *detail = vpx_codec_error_detail(&d->ctx);
	return detail != NULL ? detail : vpx_codec_error(&d->ctx);
}

void mcu_vpx_dec_free(mcu_vpx_dec *d) {
	if (d == NULL) return;
	if (d->init_err == VPX_CODEC_OK) vpx_codec_destroy(&d->ctx);
	free(d);
}

mcu_vpx_enc *mcu_vpx_enc_new(mcu_vpx_enc_params p) {
	mcu_vpx_enc *e = calloc(1, sizeof(*e));
	if (e == NULL) return NULL;
	vpx_codec_enc_cfg_t *c = &e->cfg;
	e->init_err = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), c, 0);
	if (e->init_err != VPX_CODEC_OK) return e;
	c->g_w = p.width;
	c->g_h = p.height;
	c->g_threads = p.threads;
	c->g_timebase.num = 1;
	c->g_timebase.den = (int)p.fps;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0;                          // no lookahead: one frame in, one out
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT; // survive loss on the way out
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = p.kbps;
	c->rc_dropframe_thresh = 45; // drop a frame only when even q 63 cannot meet the rate
	c->rc_resize_allowed = 0;
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 63; // let q rise to meet low targets before dropping frames
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = p.kf_max_dist;

	e->init_err = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), c, 0);
	if (e->init_err != VPX_CODEC_OK) return e;
	vpx_codec_err_t err = VPX_CODEC_OK;
#define CTRL(id, v) \
	if (err == VPX_CODEC_OK) err = vpx_codec_control(&e->ctx, id, v)
	CTRL(VP8E_SET_CPUUSED, p.cpu_used);
	CTRL(VP8E_SET_STATIC_THRESHOLD, 1u);
	CTRL(VP8E_SET_NOISE_SENSITIVITY, 0u);
	CTRL(VP8E_SET_TOKEN_PARTITIONS, (int)VP8_ONE_TOKENPARTITION);
	CTRL(VP8E_SET_MAX_INTRA_BITRATE_PCT, p.max_intra_pct);
#undef CTRL
	if (err != VPX_CODEC_OK) {
		vpx_codec_destroy(&e->ctx);
		e->init_err = err;
		return e;
	}

	// The input picture: an I420 description whose plane pointers are
	// filled in for the duration of each encode call only.
	vpx_image_t *img = &e->img;
	memset(img, 0, sizeof(*img));
	img->fmt = VPX_IMG_FMT_I420;
	img->cs = VPX_CS_UNKNOWN;
	img->range = VPX_CR_STUDIO_RANGE;
	img->w = img->d_w = p.width;
	img->h = img->d_h = p.height;
	img->bit_depth = 8;
	img->x_chroma_shift = 1;
	img->y_chroma_shift = 1;
	img->bps = 12;
	return e;
}

vpx_codec_err_t mcu_vpx_enc_encode(mcu_vpx_enc *e, uint8_t *y, int sy, uint8_t *u, int su,
                                   uint8_t *v, int sv, int force_kf) {
	e->out = NULL;
	e->out_len = 0;
	e->out_key = 0;
	e->out_pkts = 0;
	vpx_image_t *img = &e->img;
	img->planes[VPX_PLANE_Y] = y;
	img->planes[VPX_PLANE_U] = u;
	img->planes[VPX_PLANE_V] = v;
	img->stride[VPX_PLANE_Y] = sy;
	img->stride[VPX_PLANE_U] = su;
	img->stride[VPX_PLANE_V] = sv;
	// With g_lag_in_frames = 0 the encoder copies the picture into its own
	// buffers (or encodes it outright) before returning, so the planes,
	// which may be Go memory, are not referenced after this call.
	vpx_codec_err_t err = vpx_codec_encode(&e->ctx, img, e->pts, 1,
	                                       force_kf ? VPX_EFLAG_FORCE_KF : 0, VPX_DL_REALTIME);
	img->planes[VPX_PLANE_Y] = img->planes[VPX_PLANE_U] = img->planes[VPX_PLANE_V] = NULL;
	e->pts++;
	if (err != VPX_CODEC_OK) return err;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		if (e->out_pkts++ == 0) {
			e->out = pkt->data.frame.buf;
			e->out_len = pkt->data.frame.sz;
			e->out_key = (pkt->data.frame.flags & VPX_FRAME_IS_KEY) != 0;
		}
	}
	return VPX_CODEC_OK;
}

// map: rows×cols bytes, 1 for a macroblock to encode, 0 for one to send as
// unchanged; NULL: every macroblock. libvpx copies it.
vpx_codec_err_t mcu_vpx_enc_set_active_map(mcu_vpx_enc *e, unsigned char *map, unsigned int rows,
                                           unsigned int cols) {
	vpx_active_map_t m = {map, rows, cols};
	return vpx_codec_control(&e->ctx, VP8E_SET_ACTIVEMAP, &m);
}

vpx_codec_err_t mcu_vpx_enc_set_kbps(mcu_vpx_enc *e, unsigned int kbps) {
	unsigned int old = e->cfg.rc_target_bitrate;
	e->cfg.rc_target_bitrate = kbps;
	vpx_codec_err_t err = vpx_codec_enc_config_set(&e->ctx, &e->cfg);
	if (err != VPX_CODEC_OK) e->cfg.rc_target_bitrate = old;
	return err;
}

const char *mcu_vpx_enc_error(mcu_vpx_enc *e) {
	const char *detail = vpx_codec_error_detail(&e->ctx);
	return detail != NULL ? detail : vpx_codec_error(&e->ctx);
}

void mcu_vpx_enc_free(mcu_vpx_enc *e) {
	if (e == NULL) return;
	if (e->init_err == VPX_CODEC_OK) vpx_codec_destroy(&e->ctx);
	free(e);
}
